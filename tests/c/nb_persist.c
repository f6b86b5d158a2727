/*
 * Persistent requests started 100 times with VE buffers whose contents change between starts:
 *  - Send_init, Ssend_init, Rsend_init against Recv_init, contiguous (short messages: the tail of the
 *    receive buffer keeps the marker the receiver writes before every start) and a vector type with
 *    holes, completed by a rotating completion form;
 *  - a ring where every rank starts its send and receive together with MPI_Startall;
 *  - persistent collectives where the real MPI has them (MPICH 4.0): Allreduce_init in and out of VE
 *    memory, Bcast_init of a vector type, Alltoall_init;
 * and the staging pool reaches a steady state: no host allocation after the first starts.
 */
#include "vetest.h"
#include "nb_util.h"

#define STARTS 100
#define TOKEN 30001

static int partner(void) {
    int p = vt_rank ^ 1;
    return p < vt_size ? p : MPI_PROC_NULL;
}

static unsigned seed_of(int kind, int it, int rank) {
    return 17 + kind * 100003 + it * 131 + rank * 7;
}

/* The bytes a receive of the vector type leaves in a marker buffer: blocks from `src`. */
static void expect_vec(unsigned char *e, const unsigned char *src, size_t bytes, int count, MPI_Aint ext) {
    memset(e, VT_MARK, bytes);
    for (int c = 0; c < count; c++)
        for (int b = 0; b < 4; b++) memcpy(e + c * ext + b * 12, src + c * ext + b * 12, 8);
}

static void p2p(int mode_kind, int derived, const char *pl) {
    const int cap = 1000, sent = 997; /* ints, contiguous case */
    MPI_Datatype vec;
    MPI_Aint lb, ext;
    int p = partner(), kind = mode_kind * 2 + derived;
    size_t bytes;
    int count, scount;
    MPI_Type_vector(4, 2, 3, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    MPI_Type_get_extent(vec, &lb, &ext);
    if (derived) {
        count = scount = 40;
        bytes = 40 * ext;
    } else {
        count = cap;
        scount = sent;
        bytes = cap * sizeof(int);
    }
    if (p == MPI_PROC_NULL) {
        MPI_Type_free(&vec);
        return;
    }
    unsigned char *h = malloc(bytes), *e = malloc(bytes);
    MPI_Datatype dt = derived ? vec : MPI_INT;
    MPI_Request q;
    int pers = 1;
    mpive_stats_t warm;
    memset(&warm, 0, sizeof warm);
    if (vt_rank < p) {
        void *s = vt_alloc(pl[0], bytes);
        if (mode_kind == 0) MPI_Send_init(s, scount, dt, p, 5, MPI_COMM_WORLD, &q);
        if (mode_kind == 1) MPI_Ssend_init(s, scount, dt, p, 5, MPI_COMM_WORLD, &q);
        if (mode_kind == 2) MPI_Rsend_init(s, scount, dt, p, 5, MPI_COMM_WORLD, &q);
        for (int it = 0; it < STARTS; it++) {
            vt_pattern(h, bytes, seed_of(kind, it, vt_rank));
            vt_put(s, h, bytes); /* new data for every start */
            MPI_Recv(NULL, 0, MPI_BYTE, p, TOKEN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Start(&q);
            nb_complete_p((it + mode_kind) % NB_MODES, 1, &q, NULL, &pers);
            if (it == 1) warm = nb_stats();
        }
        MPI_Request_free(&q);
        vt_free(s);
    } else {
        void *r = vt_alloc(pl[1], bytes);
        MPI_Status st;
        unsigned char *src = malloc(bytes);
        MPI_Recv_init(r, count, dt, p, 5, MPI_COMM_WORLD, &q);
        for (int it = 0; it < STARTS; it++) {
            char what[128];
            int got = -1;
            memset(h, VT_MARK, bytes);
            vt_put(r, h, bytes); /* the request is inactive: the buffer is the application's */
            MPI_Start(&q);
            MPI_Send(NULL, 0, MPI_BYTE, p, TOKEN, MPI_COMM_WORLD);
            nb_complete_p((it + 3 * mode_kind) % NB_MODES, 1, &q, &st, &pers);
            vt_pattern(src, bytes, seed_of(kind, it, p));
            if (derived) {
                expect_vec(e, src, bytes, count, ext);
            } else {
                memset(e, VT_MARK, bytes);
                memcpy(e, src, sent * sizeof(int));
            }
            snprintf(what, sizeof what, "%s/Recv_init%s start %d (%s)", mode_kind == 0 ? "Send_init" : mode_kind == 1 ? "Ssend_init" : "Rsend_init",
                     derived ? " vector" : "", it, pl);
            vt_check(what, r, e, bytes);
            MPI_Get_count(&st, dt, &got);
            VT_ASSERT(got == scount && st.MPI_SOURCE == p, "%s: count %d source %d", what, got, st.MPI_SOURCE);
            if (it == 1) warm = nb_stats();
        }
        MPI_Request_free(&q);
        vt_free(r);
        free(src);
    }
    {
        mpive_stats_t now = nb_stats();
        VT_ASSERT(now.pool_allocations == warm.pool_allocations, "persistent %d: %llu host allocations after the second start", kind,
                  (unsigned long long)(now.pool_allocations - warm.pool_allocations));
    }
    MPI_Type_free(&vec);
    free(h);
    free(e);
}

/* Ring: every rank's send and receive started together by MPI_Startall. */
static void ring(const char *pl) {
    const int n = 2049;
    const size_t bytes = n * sizeof(int);
    int next = (vt_rank + 1) % vt_size, prev = (vt_rank + vt_size - 1) % vt_size;
    void *s = vt_alloc(pl[0], bytes), *r = vt_alloc(pl[1], bytes);
    unsigned char *h = malloc(bytes);
    MPI_Request q[2];
    MPI_Status st[2];
    int pers[2] = {1, 1};
    MPI_Recv_init(r, n, MPI_INT, prev, 6, MPI_COMM_WORLD, &q[0]);
    MPI_Send_init(s, n, MPI_INT, next, 6, MPI_COMM_WORLD, &q[1]);
    for (int it = 0; it < STARTS; it++) {
        char what[96];
        vt_pattern(h, bytes, seed_of(9, it, vt_rank));
        vt_put(s, h, bytes);
        memset(h, VT_MARK, bytes);
        vt_put(r, h, bytes);
        MPI_Startall(2, q);
        nb_complete_p(it % NB_MODES, 2, q, it % 2 ? st : NULL, pers);
        vt_pattern(h, bytes, seed_of(9, it, prev));
        snprintf(what, sizeof what, "Startall ring start %d (%s)", it, pl);
        vt_check(what, r, h, bytes);
    }
    MPI_Request_free(&q[0]);
    MPI_Request_free(&q[1]);
    vt_free(s);
    vt_free(r);
    free(h);
}

#if MPI_VERSION >= 4
static int val(int rank, int i, int it) {
    return rank * 1000 + i * 3 + it * 7;
}

static void collectives(const char *pl) {
    const int n = 513;
    MPI_Request q[3];
    void *a = vt_alloc(pl[0], n * sizeof(int)), *b = vt_alloc(pl[1], n * sizeof(int));
    int *h = malloc(n * sizeof(int) * (vt_size + 1)), *e = malloc(n * sizeof(int) * (vt_size + 1));
    MPI_Datatype vec;
    MPI_Aint lb, ext;
    const int vcount = 20;
    int pers = 1;
    MPI_Type_vector(4, 2, 3, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    MPI_Type_get_extent(vec, &lb, &ext);
    size_t vbytes = vcount * ext;
    void *v = vt_alloc(pl[1], vbytes);
    const int blk = 50;
    void *sa = vt_alloc(pl[0], blk * vt_size * sizeof(int)), *ra = vt_alloc(pl[1], blk * vt_size * sizeof(int));
    MPI_Allreduce_init(a, b, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &q[0]);
    MPI_Bcast_init(v, vcount, vec, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &q[1]);
    MPI_Alltoall_init(sa, blk, MPI_INT, ra, blk, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &q[2]);
    for (int it = 0; it < STARTS; it++) {
        char what[96];
        unsigned char *src = malloc(vbytes), *ev = malloc(vbytes);
        for (int i = 0; i < n; i++) h[i] = val(vt_rank, i, it);
        vt_put(a, h, n * sizeof(int));
        vt_pattern(src, vbytes, seed_of(10, it, 0));
        if (vt_rank == 0) {
            vt_put(v, src, vbytes);
        } else {
            memset(ev, VT_MARK, vbytes);
            vt_put(v, ev, vbytes);
        }
        for (int j = 0; j < vt_size; j++)
            for (int i = 0; i < blk; i++) h[j * blk + i] = val(vt_rank, j * blk + i, it);
        vt_put(sa, h, blk * vt_size * sizeof(int));
        if (it % 2) {
            MPI_Startall(3, q);
        } else {
            for (int k = 0; k < 3; k++) MPI_Start(&q[k]);
        }
        /* one at a time: MPICH 4.0.2 cannot complete several persistent collectives in one array
         * call (see nb_util.h) */
        nb_mpich_persistent_coll = 1;
        for (int k = 0; k < 3; k++) nb_complete_p((it + k) % NB_MODES == NB_TESTALL ? NB_WAITALL : (it + k) % NB_MODES, 1, &q[k], NULL, &pers);
        nb_mpich_persistent_coll = 0;
        for (int i = 0; i < n; i++) {
            e[i] = 0;
            for (int r = 0; r < vt_size; r++) e[i] += val(r, i, it);
        }
        snprintf(what, sizeof what, "Allreduce_init start %d (%s)", it, pl);
        vt_check(what, b, (unsigned char *)e, n * sizeof(int));
        if (vt_rank == 0)
            memcpy(ev, src, vbytes);
        else
            expect_vec(ev, src, vbytes, vcount, ext);
        snprintf(what, sizeof what, "Bcast_init vector start %d (%s)", it, pl);
        vt_check(what, v, ev, vbytes);
        for (int j = 0; j < vt_size; j++)
            for (int i = 0; i < blk; i++) e[j * blk + i] = val(j, vt_rank * blk + i, it);
        snprintf(what, sizeof what, "Alltoall_init start %d (%s)", it, pl);
        vt_check(what, ra, (unsigned char *)e, blk * vt_size * sizeof(int));
        free(src);
        free(ev);
    }
    for (int k = 0; k < 3; k++) MPI_Request_free(&q[k]);
    MPI_Type_free(&vec);
    vt_free(a);
    vt_free(b);
    vt_free(v);
    vt_free(sa);
    vt_free(ra);
    free(h);
    free(e);
}
#endif

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    nb_pad_init();
    for (int k = 0; k < VT_NPLACE; k++) {
        const char *pl = vt_placements[k];
        for (int m = 0; m < 3; m++)
            for (int d = 0; d < 2; d++)
                if (k == 3 || (m + d + k) % 2 == 0) p2p(m, d, pl); /* all of them with VE on both sides */
        ring(pl);
#if MPI_VERSION >= 4
        collectives(pl);
#endif
    }
#if MPI_VERSION >= 4
    if (vt_rank == 0) printf("persistent collectives: tested\n");
#else
    if (vt_rank == 0) printf("persistent collectives: not in this MPI (MPI_VERSION %d)\n", MPI_VERSION);
#endif
    nb_pad_free();
    {
        mpive_stats_t s = nb_stats();
        VT_ASSERT(!nb_have_shim() || (s.pending_requests == 0 && s.live_buffers == 0), "%llu requests pending, %llu buffers lent out",
                  (unsigned long long)s.pending_requests, (unsigned long long)s.live_buffers);
    }
    return vt_finish("nb_persist");
}
