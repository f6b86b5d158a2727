/*
 * Blocking point-to-point with VE, host and mixed buffers: Send, Ssend, Rsend, Recv, Sendrecv,
 * Sendrecv_replace, Mprobe + Mrecv; short messages, MPI_PROC_NULL, zero counts and derived datatypes
 * with holes (vector, negative stride, indexed out of order, struct with padding, resized). Every
 * receive buffer starts filled with a marker, and the test checks that exactly the bytes the message
 * delivers changed.
 */
#include "vetest.h"

/* Ranks pair up 0-1, 2-3; a rank without partner (odd size) only takes part in the ring tests. */
static int partner(void) {
    int p = vt_rank ^ 1;
    return p < vt_size ? p : MPI_PROC_NULL;
}


typedef int (*send_fn)(const void *, int, MPI_Datatype, int, int, MPI_Comm);

static void test_modes(const char *pl) {
    const int n = 1000;
    const size_t bytes = n * sizeof(double);
    static const struct { const char *name; send_fn fn; } modes[] = {{"Send", MPI_Send}, {"Ssend", MPI_Ssend}};
    int p = partner();
    if (p == MPI_PROC_NULL) return;
    for (int m = 0; m < 2; m++) {
        char what[128];
        snprintf(what, sizeof what, "%s/Recv %s", modes[m].name, pl);
        if (vt_rank < p) {
            void *s = vt_make(pl[0], bytes, 11 + m);
            modes[m].fn(s, n, MPI_DOUBLE, p, 5, MPI_COMM_WORLD);
            vt_free(s);
        } else {
            void *r = vt_make(pl[1], bytes, 0);
            unsigned char *e = malloc(bytes);
            MPI_Status st;
            int count = -1;
            MPI_Recv(r, n, MPI_DOUBLE, p, 5, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_DOUBLE, &count);
            VT_ASSERT(count == n && st.MPI_SOURCE == p && st.MPI_TAG == 5, "%s: status count %d source %d tag %d", what, count,
                      st.MPI_SOURCE, st.MPI_TAG);
            vt_pattern(e, bytes, 11 + m);
            vt_check(what, r, e, bytes);
            vt_free(r);
            free(e);
        }
    }
}

/* Rsend needs the receive posted first: the receiver posts a host Irecv, then both meet at a barrier. */
static void test_rsend(const char *pl) {
    const int n = 300;
    const size_t bytes = n * sizeof(int);
    int p = partner();
    unsigned char *h = malloc(bytes), *e = malloc(bytes);
    MPI_Request req = MPI_REQUEST_NULL;
    if (p != MPI_PROC_NULL && vt_rank > p) MPI_Irecv(h, n, MPI_INT, p, 9, MPI_COMM_WORLD, &req);
    MPI_Barrier(MPI_COMM_WORLD);
    if (p != MPI_PROC_NULL && vt_rank < p) {
        void *s = vt_make(pl[0], bytes, 21);
        MPI_Rsend(s, n, MPI_INT, p, 9, MPI_COMM_WORLD);
        vt_free(s);
    }
    if (p != MPI_PROC_NULL && vt_rank > p) {
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        vt_pattern(e, bytes, 21);
        vt_check("Rsend", h, e, bytes);
    }
    free(h);
    free(e);
}

/* A message shorter than the receive buffer writes only its own bytes. */
static void test_short(const char *pl) {
    const int cap = 100, sent = 37;
    const size_t bytes = cap * sizeof(double);
    int p = partner();
    if (p == MPI_PROC_NULL) return;
    if (vt_rank < p) {
        void *s = vt_make(pl[0], bytes, 31);
        MPI_Send(s, sent, MPI_DOUBLE, p, 1, MPI_COMM_WORLD);
        vt_free(s);
    } else {
        void *r = vt_make(pl[1], bytes, 0);
        unsigned char *e = malloc(bytes);
        MPI_Status st;
        int count;
        MPI_Recv(r, cap, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &count);
        VT_ASSERT(count == sent && st.MPI_SOURCE == p && st.MPI_TAG == 1, "short: count %d source %d", count, st.MPI_SOURCE);
        memset(e, VT_MARK, bytes);
        vt_pattern(e, sent * sizeof(double), 31);
        vt_check("short message", r, e, bytes);
        /* The same with MPI_STATUS_IGNORE: the shim must still know how much arrived. */
        MPI_Recv(r, cap, MPI_DOUBLE, p, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        memset(e, VT_MARK, bytes);
        vt_pattern(e, sent * sizeof(double), 31);
        vt_pattern(e, 5 * sizeof(double), 32);
        vt_check("short message, status ignored", r, e, bytes);
        vt_free(r);
        free(e);
    }
    if (vt_rank < p) {
        void *s = vt_make(pl[0], bytes, 32);
        MPI_Send(s, 5, MPI_DOUBLE, p, 2, MPI_COMM_WORLD);
        vt_free(s);
    }
}

/* Derived datatypes: sender and receiver use the same type; holes in the receive buffer keep the marker. */
static void test_datatype(const char *pl, const char *name, MPI_Datatype dt, int count, size_t n, size_t off, int partial) {
    char what[160];
    int p = partner();
    int sendcount = partial ? count / 2 : count;
    snprintf(what, sizeof what, "%s%s %s", name, partial ? " (short message)" : "", pl);
    if (p == MPI_PROC_NULL) return;
    if (vt_rank < p) {
        void *s = vt_make(pl[0], n, 41);
        MPI_Send((char *)s + off, sendcount, dt, p, 3, MPI_COMM_WORLD);
        vt_free(s);
    } else {
        void *r = vt_make(pl[1], n, 0);
        unsigned char *e = malloc(n);
        MPI_Status st;
        int count_got;
        MPI_Recv((char *)r + off, count, dt, p, 3, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, dt, &count_got);
        VT_ASSERT(count_got == sendcount, "%s: received %d elements, expected %d", what, count_got, sendcount);
        vt_expect_typed(e, n, off, sendcount, dt, 41);
        vt_check(what, r, e, n);
        vt_free(r);
        free(e);
    }
}

static void test_datatypes(const char *pl) {
    MPI_Datatype vec, negvec, idx, st, pair, resized, sub;
    /* vector of 4 blocks of 2 ints, stride 3: one int hole after each block */
    MPI_Type_vector(4, 2, 3, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    test_datatype(pl, "vector", vec, 3, 3 * 12 * sizeof(int), 0, 0);
    test_datatype(pl, "vector", vec, 4, 4 * 12 * sizeof(int), 0, 1);
    /* negative stride: the buffer address is the last block */
    MPI_Type_vector(5, 1, -3, MPI_DOUBLE, &negvec);
    MPI_Type_commit(&negvec);
    test_datatype(pl, "vector with negative stride", negvec, 1, 16 * sizeof(double), 12 * sizeof(double), 0);
    /* indexed, blocks out of order */
    {
        int bl[3] = {2, 1, 3}, disp[3] = {5, 0, 9};
        MPI_Type_indexed(3, bl, disp, MPI_INT, &idx);
        MPI_Type_commit(&idx);
        test_datatype(pl, "indexed out of order", idx, 2, 2 * 12 * sizeof(int), 0, 0);
        test_datatype(pl, "indexed out of order", idx, 4, 4 * 12 * sizeof(int), 0, 1);
    }
    /* struct { char c; double d; } with 7 padding bytes */
    {
        int bl[2] = {1, 1};
        MPI_Aint disp[2] = {0, 8};
        MPI_Datatype types[2] = {MPI_CHAR, MPI_DOUBLE};
        MPI_Type_create_struct(2, bl, disp, types, &st);
        MPI_Type_commit(&st);
        test_datatype(pl, "struct with padding", st, 10, 10 * 16, 0, 0);
    }
    /* two ints resized to an extent of 12: a 4-byte hole after each element */
    MPI_Type_contiguous(2, MPI_INT, &pair);
    MPI_Type_create_resized(pair, 0, 12, &resized);
    MPI_Type_commit(&resized);
    test_datatype(pl, "resized", resized, 7, 7 * 12, 0, 0);
    /* a 3x4 block of a 6x8 array of doubles */
    {
        int sizes[2] = {6, 8}, subs[2] = {3, 4}, starts[2] = {2, 3};
        MPI_Type_create_subarray(2, sizes, subs, starts, MPI_ORDER_C, MPI_DOUBLE, &sub);
        MPI_Type_commit(&sub);
        test_datatype(pl, "subarray", sub, 1, 6 * 8 * sizeof(double), 0, 0);
    }
    MPI_Type_free(&vec);
    MPI_Type_free(&negvec);
    MPI_Type_free(&idx);
    MPI_Type_free(&st);
    MPI_Type_free(&pair);
    MPI_Type_free(&resized);
    MPI_Type_free(&sub);
}

/* Ring: every rank sends to the next and receives from the previous, with Sendrecv and Sendrecv_replace. */
static void test_ring(const char *pl) {
    const int n = 513;
    const size_t bytes = n * sizeof(int);
    int next = (vt_rank + 1) % vt_size, prev = (vt_rank + vt_size - 1) % vt_size;
    void *s = vt_make(pl[0], bytes, 100 + vt_rank);
    void *r = vt_make(pl[1], bytes, 0);
    unsigned char *e = malloc(bytes);
    MPI_Status st;
    char what[64];

    MPI_Sendrecv(s, n, MPI_INT, next, 7, r, n, MPI_INT, prev, 7, MPI_COMM_WORLD, &st);
    snprintf(what, sizeof what, "Sendrecv %s", pl);
    vt_pattern(e, bytes, 100 + prev);
    vt_check(what, r, e, bytes);
    VT_ASSERT(st.MPI_SOURCE == prev, "Sendrecv status source %d, expected %d", st.MPI_SOURCE, prev);

    /* Sendrecv_replace on the receive-side placement */
    vt_pattern(e, bytes, 200 + vt_rank);
    vt_put(r, e, bytes);
    MPI_Sendrecv_replace(r, n, MPI_INT, next, 8, prev, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    snprintf(what, sizeof what, "Sendrecv_replace %s", pl);
    vt_pattern(e, bytes, 200 + prev);
    vt_check(what, r, e, bytes);

    /* and again, with a status */
    vt_pattern(e, bytes, 300 + vt_rank);
    vt_put(r, e, bytes);
    MPI_Sendrecv_replace(r, n, MPI_INT, next, 9, prev, 9, MPI_COMM_WORLD, &st);
    vt_pattern(e, bytes, 300 + prev);
    vt_check("Sendrecv_replace ring (round 2)", r, e, bytes);

    /* Sendrecv with MPI_PROC_NULL on both sides leaves the receive buffer alone */
    vt_pattern(e, bytes, 400);
    vt_put(r, e, bytes);
    MPI_Sendrecv(s, n, MPI_INT, MPI_PROC_NULL, 0, r, n, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
    VT_ASSERT(st.MPI_SOURCE == MPI_PROC_NULL, "PROC_NULL status source %d", st.MPI_SOURCE);
    vt_check("Sendrecv with MPI_PROC_NULL", r, e, bytes);
    vt_free(s);
    vt_free(r);
    free(e);
}

static void test_mrecv(const char *pl) {
    const int n = 222;
    const size_t bytes = n * sizeof(double);
    int p = partner();
    if (p == MPI_PROC_NULL) return;
    if (vt_rank < p) {
        void *s = vt_make(pl[0], bytes, 51);
        MPI_Send(s, n, MPI_DOUBLE, p, 4, MPI_COMM_WORLD);
        vt_free(s);
    } else {
        void *r = vt_make(pl[1], bytes, 0);
        unsigned char *e = malloc(bytes);
        MPI_Message msg;
        MPI_Status st;
        int count;
        MPI_Mprobe(p, 4, MPI_COMM_WORLD, &msg, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &count);
        VT_ASSERT(count == n, "Mprobe count %d", count);
        MPI_Mrecv(r, count, MPI_DOUBLE, &msg, &st);
        VT_ASSERT(msg == MPI_MESSAGE_NULL, "Mrecv did not reset the message handle");
        vt_pattern(e, bytes, 51);
        vt_check("Mprobe/Mrecv", r, e, bytes);
        vt_free(r);
        free(e);
    }
}

static void test_null_and_empty(const char *pl) {
    const size_t bytes = 64;
    void *r = vt_make(pl[1], bytes, 61);
    void *s = vt_make(pl[0], bytes, 62);
    unsigned char e[64];
    MPI_Status st;
    int p = partner();
    MPI_Recv(r, 8, MPI_DOUBLE, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
    MPI_Send(s, 8, MPI_DOUBLE, MPI_PROC_NULL, 0, MPI_COMM_WORLD);
    vt_pattern(e, bytes, 61);
    vt_check("Recv from MPI_PROC_NULL", r, e, bytes);
    if (p != MPI_PROC_NULL) {
        int count = -1;
        if (vt_rank < p) {
            MPI_Send(s, 0, MPI_DOUBLE, p, 6, MPI_COMM_WORLD);
        } else {
            MPI_Recv(r, 0, MPI_DOUBLE, p, 6, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_DOUBLE, &count);
            VT_ASSERT(count == 0, "zero-count receive count %d", count);
            vt_check("zero-count receive", r, e, bytes);
        }
    }
    vt_free(r);
    vt_free(s);
}

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    for (int k = 0; k < VT_NPLACE; k++) {
        const char *pl = vt_placements[k];
        test_modes(pl);
        test_rsend(pl);
        test_short(pl);
        test_datatypes(pl);
        test_ring(pl);
        test_mrecv(pl);
        test_null_and_empty(pl);
    }
    return vt_finish("p2p_blocking");
}
