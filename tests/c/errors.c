/*
 * Errors: refused calls, bad VE addresses and a missing libveo come back as MPI errors with the right
 * class and a message that names the call, through the communicator's error handler.
 *
 *   errors return     all checks under MPI_ERRORS_RETURN and a user-defined handler
 *   errors fatal FN   calls refused function FN with a VE buffer under the default (fatal) handler;
 *                     the run must abort and print libmpive's message
 *   errors noveo      with MPIVE_VEO_LIB pointing nowhere: a VE buffer gives MPI_ERR_OTHER naming MPIVE_VEO_LIB
 */
#include "vetest.h"




static int handler_calls, handler_class;
static void handler(MPI_Comm *comm, int *code, ...) {
    (void)comm;
    handler_calls++;
    MPI_Error_class(*code, &handler_class);
}

static int call_refused(const char *fn, void *ve) {
    MPI_Request req;
    if (!strcmp(fn, "MPI_Bsend")) return MPI_Bsend(ve, 4, MPI_INT, 0, 0, MPI_COMM_WORLD);
    if (!strcmp(fn, "MPI_Ibsend")) return MPI_Ibsend(ve, 4, MPI_INT, 0, 0, MPI_COMM_WORLD, &req);
    if (!strcmp(fn, "MPI_Bsend_init")) return MPI_Bsend_init(ve, 4, MPI_INT, 0, 0, MPI_COMM_WORLD, &req);
    if (!strcmp(fn, "MPI_Buffer_attach")) return MPI_Buffer_attach(ve, 1024);
    if (!strcmp(fn, "MPI_Reduce_local")) {
        int host[4] = {0};
        return MPI_Reduce_local(ve, host, 4, MPI_INT, MPI_SUM);
    }
    if (!strcmp(fn, "MPI_Pack_external")) {
        char out[64];
        MPI_Aint pos = 0;
        return MPI_Pack_external("external32", ve, 4, MPI_INT, out, sizeof out, &pos);
    }
    if (!strcmp(fn, "MPI_Unpack_external")) {
        char in[64] = {0};
        MPI_Aint pos = 0;
        return MPI_Unpack_external("external32", in, sizeof in, &pos, ve, 4, MPI_INT);
    }
    fprintf(stderr, "unknown function %s\n", fn);
    return MPI_SUCCESS;
}

static const char *refused_ve[] = {"MPI_Bsend", "MPI_Ibsend", "MPI_Bsend_init", "MPI_Buffer_attach",
                                   "MPI_Reduce_local", "MPI_Pack_external", "MPI_Unpack_external"};

static void test_return(void) {
    char port[MPI_MAX_PORT_NAME] = "nowhere";
    MPI_Comm inter;
    void *ve = vt_make('v', 64, 7);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

    for (size_t i = 0; i < sizeof refused_ve / sizeof *refused_ve; i++)
        vt_expect_error(refused_ve[i], call_refused(refused_ve[i], ve), MPI_ERR_UNSUPPORTED_OPERATION, refused_ve[i]);

    vt_expect_error("MPI_Open_port", MPI_Open_port(MPI_INFO_NULL, port), MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Open_port");
    vt_expect_error("MPI_Close_port", MPI_Close_port(port), MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Close_port");
    vt_expect_error("MPI_Comm_accept", MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &inter), MPI_ERR_UNSUPPORTED_OPERATION,
                 "MPI_Comm_accept");
    vt_expect_error("MPI_Comm_connect", MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &inter), MPI_ERR_UNSUPPORTED_OPERATION,
                 "MPI_Comm_connect");
    vt_expect_error("MPI_Comm_join", MPI_Comm_join(0, &inter), MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Comm_join");
    vt_expect_error("MPI_Publish_name", MPI_Publish_name("svc", MPI_INFO_NULL, port), MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Publish_name");
    vt_expect_error("MPI_Unpublish_name", MPI_Unpublish_name("svc", MPI_INFO_NULL, port), MPI_ERR_UNSUPPORTED_OPERATION,
                 "MPI_Unpublish_name");
    vt_expect_error("MPI_Lookup_name", MPI_Lookup_name("svc", MPI_INFO_NULL, port), MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Lookup_name");

    /* A VE address that belongs to no allocation: MPI_ERR_BUFFER, naming the call and the cure. */
    vt_expect_error("MPI_Send to a bad VE address", MPI_Send(vt_fake_ve(), 4, MPI_INT, vt_rank, 0, MPI_COMM_WORLD), MPI_ERR_BUFFER, "MPI_Send");
    vt_expect_error("MPI_Allreduce into a bad VE address", MPI_Allreduce(MPI_IN_PLACE, vt_fake_ve(), 4, MPI_INT, MPI_SUM, MPI_COMM_WORLD),
                 MPI_ERR_BUFFER, "veo_alloc_hmem");
    /* A count that runs past the end of a VE allocation. */
    vt_expect_error("MPI_Send past the end of a VE buffer", MPI_Send(ve, 1000, MPI_INT, vt_rank, 0, MPI_COMM_WORLD), MPI_ERR_BUFFER,
                 "MPI_Send");

    /* Host buffers keep working under the preload, buffered mode included. */
    {
        int in[4] = {1, 2, 3, 4}, out[4] = {0};
        int size = 0;
        MPI_Pack_size(4, MPI_INT, MPI_COMM_SELF, &size);
        size += MPI_BSEND_OVERHEAD;
        void *att = malloc(size);
        VT_ASSERT(MPI_Buffer_attach(att, size) == MPI_SUCCESS, "host MPI_Buffer_attach failed");
        VT_ASSERT(MPI_Bsend(in, 4, MPI_INT, 0, 3, MPI_COMM_SELF) == MPI_SUCCESS, "host MPI_Bsend failed");
        MPI_Recv(out, 4, MPI_INT, 0, 3, MPI_COMM_SELF, MPI_STATUS_IGNORE);
        VT_ASSERT(!memcmp(in, out, sizeof in), "host MPI_Bsend delivered wrong data");
        MPI_Buffer_detach(&att, &size);
        free(att);
        MPI_Reduce_local(in, out, 4, MPI_INT, MPI_SUM);
        VT_ASSERT(out[3] == 8, "host MPI_Reduce_local: %d", out[3]);
    }

    /* A user-defined handler sees the error with its class. */
    {
        MPI_Errhandler eh;
        MPI_Comm dup;
        MPI_Comm_dup(MPI_COMM_WORLD, &dup);
        MPI_Comm_create_errhandler(handler, &eh);
        MPI_Comm_set_errhandler(dup, eh);
        int rc = MPI_Bsend(ve, 4, MPI_INT, 0, 0, dup);
        VT_ASSERT(handler_calls == 1 && handler_class == MPI_ERR_UNSUPPORTED_OPERATION,
                  "user handler called %d times with class %d (rc %d)", handler_calls, handler_class, rc);
        MPI_Errhandler_free(&eh);
        MPI_Comm_free(&dup);
    }
    vt_free(ve);
}

static void test_noveo(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    vt_expect_error("MPI_Send with libveo missing", MPI_Send(vt_fake_ve(), 4, MPI_INT, vt_rank, 0, MPI_COMM_WORLD), MPI_ERR_OTHER,
                 "MPIVE_VEO_LIB");
    /* host buffers still work */
    int a = 5, b = 0;
    VT_ASSERT(MPI_Allreduce(&a, &b, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS && b == 5 * vt_size, "host Allreduce: %d", b);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "return";
    vt_init(&argc, &argv);
    if (!strcmp(mode, "return")) {
        test_return();
    } else if (!strcmp(mode, "noveo")) {
        test_noveo();
    } else if (!strcmp(mode, "fatal") && argc > 2) {
        void *ve = vt_make('v', 64, 7);
        call_refused(argv[2], ve);
        fprintf(stderr, "FAIL: %s returned under MPI_ERRORS_ARE_FATAL\n", argv[2]);
        vt_failures++;
    }
    return vt_finish("errors");
}
