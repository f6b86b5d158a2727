/*
 * Nonblocking and persistent point-to-point with VE, host and mixed buffers: Isend, Issend, Irsend,
 * Send_init, Ssend_init, Rsend_init against Irecv, Recv_init and Mprobe + Imrecv, and (where the
 * real MPI has them, MPICH 4.0) Isendrecv and Isendrecv_replace. Every transfer runs with predefined
 * and derived datatypes (holes, negative stride, out-of-order blocks, padding, resized, subarray),
 * short messages and zero counts; receive buffers start filled with a marker and are compared byte
 * for byte; statuses (source, tag, count, cancelled) are checked. The completion form rotates through
 * all of Wait/Test/any/all/some and Request_get_status (nb_util.h), with and without statuses, so each
 * combination meets several of them. A ring test keeps many VE and host requests pending at once.
 */
#include "vetest.h"
#include "nb_util.h"

#define TOKEN 30000

static int case_no;
/* With "host" as argument, only host buffers: the same program runs without libmpive, to check the
 * test's own expectations against the plain MPI. */
static int host_only;

/* Ranks pair up 0-1, 2-3; a rank without partner (odd size) only takes part in the ring tests. */
static int partner(void) {
    int p = vt_rank ^ 1;
    return p < vt_size ? p : MPI_PROC_NULL;
}


struct tcase {
    const char *name;
    MPI_Datatype dt;
    int count;   /* receive count */
    int sent;    /* send count (< count: short message) */
    size_t n;    /* buffer bytes */
    size_t off;  /* byte offset of the buffer argument */
};

static struct tcase types[16];
static int ntypes;
static MPI_Datatype owned[8];
static int nowned;

static MPI_Datatype commit(MPI_Datatype t) {
    MPI_Type_commit(&t);
    owned[nowned++] = t;
    return t;
}

static void add(const char *name, MPI_Datatype dt, int count, int sent, size_t n, size_t off) {
    struct tcase t = {name, dt, count, sent, n, off};
    types[ntypes++] = t;
}

static void make_types(void) {
    MPI_Datatype t;
    add("double", MPI_DOUBLE, 1000, 1000, 1000 * sizeof(double), 0);
    add("double, short message", MPI_DOUBLE, 100, 37, 100 * sizeof(double), 0);
    add("3 bytes", MPI_BYTE, 3, 3, 16, 0);
    add("zero count", MPI_INT, 0, 0, 16, 0);
    add("large", MPI_INT, 70000, 70000, 70000 * sizeof(int), 0); /* past eager limits: rendezvous */
    MPI_Type_vector(4, 2, 3, MPI_INT, &t);
    t = commit(t);
    add("vector", t, 3, 3, 3 * 12 * sizeof(int), 0);
    add("vector, short message", t, 4, 2, 4 * 12 * sizeof(int), 0);
    MPI_Type_vector(5, 1, -3, MPI_DOUBLE, &t);
    add("vector with negative stride", commit(t), 1, 1, 16 * sizeof(double), 12 * sizeof(double));
    {
        int bl[3] = {2, 1, 3}, disp[3] = {5, 0, 9};
        MPI_Type_indexed(3, bl, disp, MPI_INT, &t);
        t = commit(t);
        add("indexed out of order, short message", t, 4, 2, 4 * 12 * sizeof(int), 0);
    }
    {
        int bl[2] = {1, 1};
        MPI_Aint disp[2] = {0, 8};
        MPI_Datatype ts[2] = {MPI_CHAR, MPI_DOUBLE};
        MPI_Type_create_struct(2, bl, disp, ts, &t);
        add("struct with padding", commit(t), 10, 10, 10 * 16, 0);
    }
    {
        MPI_Datatype pair;
        MPI_Type_contiguous(2, MPI_INT, &pair);
        MPI_Type_create_resized(pair, 0, 12, &t);
        MPI_Type_free(&pair);
        add("resized", commit(t), 7, 7, 7 * 12, 0);
    }
    {
        int sizes[2] = {6, 8}, subs[2] = {3, 4}, starts[2] = {2, 3};
        MPI_Type_create_subarray(2, sizes, subs, starts, MPI_ORDER_C, MPI_DOUBLE, &t);
        add("subarray", commit(t), 1, 1, 6 * 8 * sizeof(double), 0);
    }
}

enum { S_ISEND, S_ISSEND, S_IRSEND, S_SEND_INIT, S_SSEND_INIT, S_RSEND_INIT, S_N };
enum { R_IRECV, R_RECV_INIT, R_IMRECV, R_N };
static const char *snames[S_N] = {"Isend", "Issend", "Irsend", "Send_init", "Ssend_init", "Rsend_init"};
static const char *rnames[R_N] = {"Irecv", "Recv_init", "Mprobe+Imrecv"};

/* One message from the lower to the higher rank of a pair, posted with `sm` and `rm`. */
static void xfer(const char *pl, int sm, int rm, const struct tcase *t) {
    int p = partner(), tag = 100 + case_no % 64;
    int cmode_s = case_no % NB_MODES, cmode_r = (case_no + 4) % NB_MODES, use_status = case_no % 3 != 2;
    unsigned seed = 1000 + case_no;
    char what[200];
    case_no++;
    if (p == MPI_PROC_NULL) return;
    snprintf(what, sizeof what, "%s -> %s, %s (%s), completed by %s/%s%s", snames[sm], rnames[rm], t->name, pl,
             nb_mode_names[cmode_s], nb_mode_names[cmode_r], use_status ? "" : " with STATUS_IGNORE");
    if (vt_rank < p) {
        void *s = vt_make(pl[0], t->n, seed);
        void *sb = (char *)s + t->off;
        MPI_Request r;
        int pers = sm >= S_SEND_INIT;
        unsigned char *e = malloc(t->n);
        if (rm != R_IMRECV) MPI_Recv(NULL, 0, MPI_BYTE, p, TOKEN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        switch (sm) {
        case S_ISEND: MPI_Isend(sb, t->sent, t->dt, p, tag, MPI_COMM_WORLD, &r); break;
        case S_ISSEND: MPI_Issend(sb, t->sent, t->dt, p, tag, MPI_COMM_WORLD, &r); break;
        case S_IRSEND: MPI_Irsend(sb, t->sent, t->dt, p, tag, MPI_COMM_WORLD, &r); break;
        case S_SEND_INIT: MPI_Send_init(sb, t->sent, t->dt, p, tag, MPI_COMM_WORLD, &r); break;
        case S_SSEND_INIT: MPI_Ssend_init(sb, t->sent, t->dt, p, tag, MPI_COMM_WORLD, &r); break;
        default: MPI_Rsend_init(sb, t->sent, t->dt, p, tag, MPI_COMM_WORLD, &r); break;
        }
        if (pers) MPI_Start(&r);
        nb_complete_p(cmode_s, 1, &r, NULL, &pers);
        if (pers) {
            VT_ASSERT(r != MPI_REQUEST_NULL, "%s: persistent request freed by completion", what);
            MPI_Request_free(&r);
        }
        vt_pattern(e, t->n, seed);
        vt_check("send buffer unchanged", s, e, t->n);
        vt_free(s);
        free(e);
    } else {
        void *rb = vt_make(pl[1], t->n, 0);
        void *b = (char *)rb + t->off;
        unsigned char *e = malloc(t->n);
        MPI_Request r;
        MPI_Status st;
        int pers = rm == R_RECV_INIT;
        st.MPI_SOURCE = st.MPI_TAG = -5;
        if (rm == R_IRECV) MPI_Irecv(b, t->count, t->dt, case_no % 2 ? p : MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &r);
        if (rm == R_RECV_INIT) {
            MPI_Recv_init(b, t->count, t->dt, p, case_no % 2 ? tag : MPI_ANY_TAG, MPI_COMM_WORLD, &r);
            MPI_Start(&r);
        }
        if (rm == R_IMRECV) {
            MPI_Message m;
            MPI_Status pst;
            MPI_Mprobe(p, tag, MPI_COMM_WORLD, &m, &pst);
            MPI_Imrecv(b, t->count, t->dt, &m, &r);
            VT_ASSERT(m == MPI_MESSAGE_NULL, "%s: Imrecv did not reset the message handle", what);
        } else {
            MPI_Send(NULL, 0, MPI_BYTE, p, TOKEN, MPI_COMM_WORLD);
        }
        nb_complete_p(cmode_r, 1, &r, use_status ? &st : NULL, &pers);
        if (use_status) {
            int got = -1, cancelled = 1;
            MPI_Get_count(&st, t->dt, &got);
            MPI_Test_cancelled(&st, &cancelled);
            VT_ASSERT(st.MPI_SOURCE == p && st.MPI_TAG == tag && got == t->sent && !cancelled,
                      "%s: status source %d tag %d count %d cancelled %d, expected %d %d %d 0", what, st.MPI_SOURCE, st.MPI_TAG,
                      got, cancelled, p, tag, t->sent);
        }
        if (pers) MPI_Request_free(&r);
        vt_expect_typed(e, t->n, t->off, t->sent, t->dt, seed);
        vt_check(what, rb, e, t->n);
        vt_free(rb);
        free(e);
    }
}

/* Every rank sends K messages to the next and receives K from the previous rank, all pending at
 * once: placements vary per message, the completion form per round. */
static void ring(int round) {
    enum { K = 6 };
    int next = (vt_rank + 1) % vt_size, prev = (vt_rank + vt_size - 1) % vt_size;
    int mode = round % NB_MODES, use_status = round % 2 == 0;
    MPI_Request reqs[2 * K];
    MPI_Status sts[2 * K];
    void *rb[K], *sb[K];
    size_t len[K];
    int cnt[K], pers[2 * K];
    for (int k = 0; k < K; k++) {
        /* the placement of message k depends on its sender, so receivers see a mix */
        char sp = host_only ? 'h' : "hvvh"[(round + vt_rank + k) % 4], rp = host_only ? 'h' : "vhvv"[(round + vt_rank + 2 * k) % 4];
        cnt[k] = 1 + (k * 977 + round * 31) % 3000;
        len[k] = (cnt[k] + 5) * sizeof(int);
        rb[k] = vt_make(rp, len[k], 0);
        sb[k] = vt_make(sp, len[k], 7000 + round * 100 + vt_rank * 10 + k);
        pers[k] = pers[K + k] = k == 3;
    }
    /* receives first, posted in reverse order; message k carries tag k */
    for (int k = K - 1; k >= 0; k--) {
        /* the receive count is larger than the message (5 ints) for even k: short messages */
        int c = cnt[k] + (k % 2 ? 0 : 5);
        if (pers[k]) {
            MPI_Recv_init(rb[k], c, MPI_INT, prev, k, MPI_COMM_WORLD, &reqs[k]);
            MPI_Start(&reqs[k]);
        } else {
            MPI_Irecv(rb[k], c, MPI_INT, k % 3 ? prev : MPI_ANY_SOURCE, k, MPI_COMM_WORLD, &reqs[k]);
        }
    }
    for (int k = 0; k < K; k++) {
        /* what this rank sends as message k: what `next` expects from its prev */
        int c = 1 + (k * 977 + round * 31) % 3000;
        if (pers[K + k]) {
            MPI_Send_init(sb[k], c, MPI_INT, next, k, MPI_COMM_WORLD, &reqs[K + k]);
            MPI_Start(&reqs[K + k]);
        } else if (k % 2) {
            MPI_Issend(sb[k], c, MPI_INT, next, k, MPI_COMM_WORLD, &reqs[K + k]);
        } else {
            MPI_Isend(sb[k], c, MPI_INT, next, k, MPI_COMM_WORLD, &reqs[K + k]);
        }
    }
    nb_complete_p(mode, 2 * K, reqs, use_status ? sts : NULL, pers);
    for (int k = 0; k < K; k++) {
        unsigned char *e = malloc(len[k]);
        char what[128];
        memset(e, VT_MARK, len[k]);
        vt_pattern(e, cnt[k] * sizeof(int), 7000 + round * 100 + prev * 10 + k);
        snprintf(what, sizeof what, "ring round %d message %d, completed by %s", round, k, nb_mode_names[mode]);
        vt_check(what, rb[k], e, len[k]);
        if (use_status) {
            int got = -1;
            MPI_Get_count(&sts[k], MPI_INT, &got);
            VT_ASSERT(sts[k].MPI_SOURCE == prev && sts[k].MPI_TAG == k && got == cnt[k], "%s: status source %d tag %d count %d",
                      what, sts[k].MPI_SOURCE, sts[k].MPI_TAG, got);
        }
        if (pers[k]) MPI_Request_free(&reqs[k]);
        if (pers[K + k]) MPI_Request_free(&reqs[K + k]);
        vt_free(rb[k]);
        vt_free(sb[k]);
        free(e);
    }
}

#if MPI_VERSION >= 4
/* Isendrecv and Isendrecv_replace around the ring (MPI-4). MPICH 4.0.2 fills no status for them
 * (source 0, count 0) and corrupts derived datatypes in Isendrecv_replace (wrong data, then an
 * assertion in MPI_Type_free), with or without libmpive: statuses are not checked, and the replace
 * uses a predefined type with a marker tail. */
static void sendrecv_ring(const char *pl, int round) {
    const int n = 700;
    const size_t bytes = (n + 9) * sizeof(int);
    int next = (vt_rank + 1) % vt_size, prev = (vt_rank + vt_size - 1) % vt_size;
    int mode = round % NB_MODES;
    void *s = vt_make(pl[0], bytes, 500 + vt_rank + round);
    void *r = vt_make(pl[1], bytes, 0);
    unsigned char *e = malloc(bytes);
    MPI_Request req;
    char what[128];
    /* a short message: n - rank ints into room for n + 9 */
    MPI_Isendrecv(s, n - vt_rank, MPI_INT, next, 3, r, n + 9, MPI_INT, prev, 3, MPI_COMM_WORLD, &req);
    nb_complete(mode, 1, &req, NULL);
    memset(e, VT_MARK, bytes);
    vt_pattern(e, (n - prev) * sizeof(int), 500 + prev + round);
    snprintf(what, sizeof what, "Isendrecv (%s) completed by %s", pl, nb_mode_names[mode]);
    vt_check(what, r, e, bytes);
    vt_pattern(e, bytes, 500 + vt_rank + round);
    vt_check("Isendrecv send buffer unchanged", s, e, bytes);

    /* Isendrecv_replace of n - 2 ints: the tail keeps its contents */
    {
        unsigned char *from = malloc(bytes);
        vt_pattern(e, bytes, 600 + vt_rank + round);
        vt_put(r, e, bytes);
        vt_pattern(from, bytes, 600 + prev + round);
        MPI_Isendrecv_replace(r, n - 2, MPI_INT, next, 4, prev, 4, MPI_COMM_WORLD, &req);
        nb_complete((mode + 3) % NB_MODES, 1, &req, NULL);
        memcpy(e, from, (n - 2) * sizeof(int));
        snprintf(what, sizeof what, "Isendrecv_replace (%s)", pl);
        vt_check(what, r, e, bytes);
        free(from);
    }
    vt_free(s);
    vt_free(r);
    free(e);
}
#endif

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    host_only = argc > 1 && !strcmp(argv[1], "host");
    nb_pad_init();
    make_types();
    for (int k = 0; k < (host_only ? 1 : VT_NPLACE); k++) {
        const char *pl = vt_placements[k];
        for (int sm = 0; sm < S_N; sm++)
            for (int rm = 0; rm < R_N; rm++) {
                /* ready mode needs a posted receive; a matched probe is not one */
                if ((sm == S_IRSEND || sm == S_RSEND_INIT) && rm == R_IMRECV) continue;
                for (int t = 0; t < ntypes; t++) {
                    /* the big message only once per placement and mode pair */
                    if (types[t].count == 70000 && (sm + rm) % 3) continue;
                    xfer(pl, sm, rm, &types[t]);
                }
            }
        nb_pad_refresh();
    }
    for (int round = 0; round < 2 * NB_MODES; round++) ring(round);
#if MPI_VERSION >= 4
    for (int round = 0; round < 8; round++) sendrecv_ring(vt_placements[host_only ? 0 : round % VT_NPLACE], round);
    if (vt_rank == 0) printf("Isendrecv: tested\n");
#else
    if (vt_rank == 0) printf("Isendrecv: not in this MPI (MPI_VERSION %d)\n", MPI_VERSION);
#endif
    nb_pad_free();
    for (int i = 0; i < nowned; i++) MPI_Type_free(&owned[i]);
    {
        mpive_stats_t s = nb_stats();
        VT_ASSERT(!nb_have_shim() || s.pending_requests == 0, "%llu requests still pending in libmpive",
                  (unsigned long long)s.pending_requests);
        VT_ASSERT(!nb_have_shim() || s.live_buffers == 0, "%llu staging buffers still lent out",
                  (unsigned long long)s.live_buffers);
    }
    return vt_finish("nb_p2p");
}
