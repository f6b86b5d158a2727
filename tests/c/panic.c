/*
 * The C boundary: a panic inside libmpive becomes an MPI error, not an abort.
 *
 * Run with the library built with the `fault-injection` feature and MPIVE_TEST_PANIC=FUNC, which makes
 * the exported function FUNC panic on entry (tests/test_panic.py):
 *
 *   panic KIND FUNC [DIR]
 *
 * Rank 0 (rank 1 for `pipeline`) makes one call of kind KIND that enters FUNC and checks that it
 * returns an error of class MPI_ERR_INTERN whose string names FUNC and the injected fault, raised
 * through the object's error handler (a user handler that counts its calls and returns). Then every
 * rank goes on: a barrier and a host message checked byte for byte, and for some kinds the operation
 * completed another way. DIR is a directory for the `file` kind.
 */
#include "vetest.h"
#include <dlfcn.h>

#define N 16
#define TAG_FAULT 11
#define TAG_AFTER 12

static int handler_calls, handler_code;
static void on_comm_error(MPI_Comm *comm, int *code, ...) {
    (void)comm;
    handler_calls++;
    handler_code = *code;
}
static void on_file_error(MPI_File *file, int *code, ...) {
    (void)file;
    handler_calls++;
    handler_code = *code;
}
static void on_win_error(MPI_Win *win, int *code, ...) {
    (void)win;
    handler_calls++;
    handler_code = *code;
}

static const char *func;
static char needle[128];

/* rc must be the injected fault of `func`, raised through a handler once. */
static void expect_fault(int rc) {
    vt_expect_error(func, rc, MPI_ERR_INTERN, needle);
    VT_ASSERT(handler_calls == 1, "%s: the error handler ran %d times, expected once", func, handler_calls);
    VT_ASSERT(handler_code == rc, "%s: the handler got code %d, the call returned %d", func, handler_code, rc);
}

/* Everyone goes on: a barrier and a host message from rank 0 to rank 1, checked. */
static void go_on(void) {
    unsigned char want[N * sizeof(int)], *got = vt_make('h', sizeof want, 0);
    vt_pattern(want, sizeof want, 99);
    VT_ASSERT(MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS, "host MPI_Barrier after the fault failed");
    if (vt_rank == 0)
        VT_ASSERT(MPI_Send(want, N, MPI_INT, 1, TAG_AFTER, MPI_COMM_WORLD) == MPI_SUCCESS, "host MPI_Send after the fault failed");
    if (vt_rank == 1) {
        VT_ASSERT(MPI_Recv(got, N, MPI_INT, 0, TAG_AFTER, MPI_COMM_WORLD, MPI_STATUS_IGNORE) == MPI_SUCCESS,
                  "host MPI_Recv after the fault failed");
        vt_check("host message after the fault", got, want, sizeof want);
    }
    vt_free(got);
}

static void kind_p2p(const char *kind) {
    void *ve = vt_make('v', N * sizeof(int), 3);
    MPI_Request req;
    if (vt_rank == 0) {
        int rc = MPI_SUCCESS;
        if (!strcmp(kind, "blocking")) rc = MPI_Send(ve, N, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD);
        else if (!strcmp(kind, "nonblocking")) rc = MPI_Isend(ve, N, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD, &req);
        else if (!strcmp(kind, "refused")) rc = MPI_Bsend(ve, N, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD);
        else if (!strcmp(kind, "persistent")) {
            VT_ASSERT(MPI_Send_init(ve, N, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD, &req) == MPI_SUCCESS, "MPI_Send_init failed");
            rc = MPI_Start(&req);
            if (rc == MPI_SUCCESS) MPI_Wait(&req, MPI_STATUS_IGNORE);
            MPI_Request_free(&req);
        } else if (!strcmp(kind, "large-count")) {
#if MPI_VERSION >= 4
            rc = MPI_Send_c(ve, N, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD);
#else
            fprintf(stderr, "no MPI_Send_c in this MPI (MPI_VERSION %d)\n", MPI_VERSION);
            MPI_Abort(MPI_COMM_WORLD, 3);
#endif
        }
        expect_fault(rc);
    }
    vt_free(ve);
}

/* MPI_Wait on the request of a VE receive fails; the request is then completed with MPI_Test and
 * its data reaches VE memory all the same. */
static void kind_completion(void) {
    unsigned char want[N * sizeof(int)];
    vt_pattern(want, sizeof want, 5);
    if (vt_rank == 1) MPI_Send(want, N, MPI_INT, 0, TAG_FAULT, MPI_COMM_WORLD);
    if (vt_rank == 0) {
        void *ve = vt_make('v', sizeof want, 0);
        MPI_Request req;
        int flag = 0;
        VT_ASSERT(MPI_Irecv(ve, N, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD, &req) == MPI_SUCCESS, "MPI_Irecv failed");
        expect_fault(MPI_Wait(&req, MPI_STATUS_IGNORE));
        while (!flag)
            if (MPI_Test(&req, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
                VT_ASSERT(0, "MPI_Test after the failed MPI_Wait failed");
                break;
            }
        vt_check("VE receive completed by MPI_Test", ve, want, sizeof want);
        vt_free(ve);
    }
}

static void kind_file(const char *dir) {
    if (vt_rank != 0) return;
    char path[4096];
    MPI_File fh;
    MPI_Errhandler eh;
    void *ve = vt_make('v', N * sizeof(int), 4);
    snprintf(path, sizeof path, "%s/panic.dat", dir);
    VT_ASSERT(MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh) == MPI_SUCCESS,
              "MPI_File_open %s failed", path);
    MPI_File_create_errhandler(on_file_error, &eh);
    MPI_File_set_errhandler(fh, eh);
    int rc = MPI_File_write_all_begin(fh, ve, N, MPI_INT);
    expect_fault(rc);
    if (rc == MPI_SUCCESS) MPI_File_write_all_end(fh, ve, MPI_STATUS_IGNORE);
    VT_ASSERT(MPI_File_close(&fh) == MPI_SUCCESS, "MPI_File_close after the fault failed");
    MPI_Errhandler_free(&eh);
    vt_free(ve);
}

/* MPI_Put from VE memory fails; a host MPI_Put in the next epoch reaches the target. */
static void kind_rma(void) {
    int *base = vt_make('h', N * sizeof(int), 0);
    unsigned char want[N * sizeof(int)];
    void *ve = vt_make('v', sizeof want, 6);
    MPI_Win win;
    MPI_Errhandler eh;
    vt_pattern(want, sizeof want, 8);
    MPI_Win_create(base, N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    MPI_Win_create_errhandler(on_win_error, &eh);
    MPI_Win_set_errhandler(win, eh);
    MPI_Win_fence(0, win);
    if (vt_rank == 0) expect_fault(MPI_Put(ve, N, MPI_INT, 1, 0, N, MPI_INT, win));
    MPI_Win_fence(0, win);
    if (vt_rank == 0)
        VT_ASSERT(MPI_Put(want, N, MPI_INT, 1, 0, N, MPI_INT, win) == MPI_SUCCESS, "host MPI_Put after the fault failed");
    VT_ASSERT(MPI_Win_fence(0, win) == MPI_SUCCESS, "MPI_Win_fence after the fault failed");
    if (vt_rank == 1) vt_check("host MPI_Put after the fault", base, want, sizeof want);
    MPI_Win_free(&win);
    MPI_Errhandler_free(&eh);
    vt_free(ve);
    vt_free(base);
}

/* A window in VE memory (a host shadow): MPI_Win_get_attr (kind win-attr, rank 0) or MPI_Win_fence
 * (kind rma-sync, every rank) fails through the window's handler; the window is freed all the same. */
static void kind_window(const char *kind) {
    void *ve = vt_make('v', N * sizeof(int), 2);
    MPI_Win win;
    MPI_Errhandler eh;
    VT_ASSERT(MPI_Win_create(ve, N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win) == MPI_SUCCESS,
              "MPI_Win_create on VE memory failed");
    MPI_Win_create_errhandler(on_win_error, &eh);
    MPI_Win_set_errhandler(win, eh);
    if (!strcmp(kind, "rma-sync")) {
        expect_fault(MPI_Win_fence(0, win));
    } else if (vt_rank == 0) {
        void *base = NULL;
        int flag = 0;
        expect_fault(MPI_Win_get_attr(win, MPI_WIN_BASE, &base, &flag));
    }
    VT_ASSERT(MPI_Win_free(&win) == MPI_SUCCESS, "MPI_Win_free after the fault failed");
    MPI_Errhandler_free(&eh);
    vt_free(ve);
}

/* MPI_Error_string itself fails: its error is raised through MPI_COMM_WORLD's handler, and the string
 * of that error is read from the MPI library (PMPI_Error_string), since MPI_Error_string still fails. */
static void kind_error_string(void) {
    if (vt_rank != 0) return;
    char msg[MPI_MAX_ERROR_STRING + 1] = "";
    int len = 0, cls = -1;
    int rc = MPI_Error_string(MPI_ERR_TRUNCATE, msg, &len);
    VT_ASSERT(rc != MPI_SUCCESS, "MPI_Error_string: returned MPI_SUCCESS");
    VT_ASSERT(MPI_Error_class(rc, &cls) == MPI_SUCCESS && cls == MPI_ERR_INTERN, "MPI_Error_string: error class %d, expected %d",
              cls, MPI_ERR_INTERN);
    VT_ASSERT(PMPI_Error_string(rc, msg, &len) == MPI_SUCCESS, "PMPI_Error_string failed");
    VT_ASSERT(strstr(msg, needle) != NULL, "MPI_Error_string: error string \"%s\" does not mention \"%s\"", msg, needle);
    VT_ASSERT(handler_calls == 1 && handler_code == rc, "MPI_Error_string: handler ran %d times (code %d, returned %d)",
              handler_calls, handler_code, rc);
    /* the other error functions still work */
    VT_ASSERT(MPI_Error_class(MPI_ERR_TRUNCATE, &cls) == MPI_SUCCESS && cls == MPI_ERR_TRUNCATE, "MPI_Error_class failed");
}

/* A function of libmpive's own API: its documented error value (-1), the reason on stderr; then
 * the other functions of that API still work. With FUNC "none", a VE-to-VE mpive_hmemcpy of a size
 * far beyond any memory: -1, not an abort. */
static void kind_capi(void) {
    int (*hmemcpy)(void *, const void *, size_t) = (int (*)(void *, const void *, size_t))dlsym(RTLD_DEFAULT, "mpive_hmemcpy");
    int (*is_ve)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT, "mpive_is_ve_addr");
    VT_ASSERT(hmemcpy != NULL && is_ve != NULL, "libmpive's API is not in the process");
    if (!hmemcpy || !is_ve) return;
    void *a = vt_make('v', 64, 1), *b = vt_make('v', 64, 0);
    unsigned char want[64];
    vt_pattern(want, sizeof want, 1);
    if (!strcmp(func, "none")) {
        VT_ASSERT(hmemcpy(b, a, (size_t)1 << 62) == -1, "mpive_hmemcpy of 2^62 bytes VE to VE did not return -1");
        VT_ASSERT(hmemcpy(b, a, 64) == 0, "mpive_hmemcpy VE to VE failed");
        vt_check("mpive_hmemcpy VE to VE", b, want, 64);
    } else {
        VT_ASSERT(hmemcpy(b, a, 64) == -1, "%s: did not return -1", func);
        VT_ASSERT(is_ve(a) == 1, "mpive_is_ve_addr after the fault failed");
    }
    vt_free(a);
    vt_free(b);
}

/* In pipelined mode a host receive of at least the pipeline's smallest threshold goes from the host
 * fast path to the protocol's interposer of MPI_Recv, which fails; the message is then received with
 * MPI_Irecv. */
static void kind_pipeline(void) {
    const int n = 1 << 18; /* 1 MiB of ints */
    unsigned char *want = malloc((size_t)n * sizeof(int)), *got = vt_make('h', (size_t)n * sizeof(int), 0);
    vt_pattern(want, (size_t)n * sizeof(int), 9);
    MPI_Request req;
    if (vt_rank == 0) {
        MPI_Isend(want, n, MPI_INT, 1, TAG_FAULT, MPI_COMM_WORLD, &req);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
    }
    if (vt_rank == 1) {
        int rc = MPI_Recv(got, n, MPI_INT, 0, TAG_FAULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        expect_fault(rc);
        if (rc != MPI_SUCCESS) {
            MPI_Irecv(got, n, MPI_INT, 0, TAG_FAULT, MPI_COMM_WORLD, &req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        }
        vt_check("host message of the failed MPI_Recv, received again", got, want, (size_t)n * sizeof(int));
    }
    free(want);
    vt_free(got);
}

int main(int argc, char **argv) {
    MPI_Errhandler eh;
    vt_init(&argc, &argv);
    if (argc < 3 || vt_size < 2) {
        fprintf(stderr, "usage: panic KIND FUNC [DIR], on 2 or more ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *kind = argv[1];
    func = argv[2];
    snprintf(needle, sizeof needle, "fault injected into %s", func);
    MPI_Comm_create_errhandler(on_comm_error, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh);

    if (!strcmp(kind, "completion")) kind_completion();
    else if (!strcmp(kind, "file")) kind_file(argc > 3 ? argv[3] : ".");
    else if (!strcmp(kind, "rma")) kind_rma();
    else if (!strcmp(kind, "rma-sync") || !strcmp(kind, "win-attr")) kind_window(kind);
    else if (!strcmp(kind, "error-string")) kind_error_string();
    else if (!strcmp(kind, "capi")) kind_capi();
    else if (!strcmp(kind, "pipeline")) kind_pipeline();
    else kind_p2p(kind);

    go_on();
    MPI_Errhandler_free(&eh);
    return vt_finish(kind);
}
