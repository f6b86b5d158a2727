/*
 * Blocking collectives on an intercommunicator (even world ranks against odd ones) with VE, host and
 * mixed buffers: rooted collectives with MPI_ROOT and MPI_PROC_NULL, the all-to-all family sized by
 * the remote group, and the reductions. Buffers that are not significant on a process must stay
 * untouched. Built with -DNONBLOCKING or -DPERSISTENT, the same for the nonblocking and persistent
 * collectives (see COLL in nb_util.h).
 */
#include "vetest.h"

/* Built three times: blocking; -DNONBLOCKING (I-forms, completed in every form); -DPERSISTENT
 * (MPI-4 persistent collectives). See COLL in nb_util.h. */
#if defined(NONBLOCKING) || defined(PERSISTENT)
#include "nb_util.h"
#define COLL_BEGIN() nb_pad_init()
#define COLL_END() nb_pad_free()
#else
#define COLL(b, nb, ...) MPI_##b(__VA_ARGS__)
#define COLL_KIND "blocking"
#define COLL_BEGIN()
#define COLL_END()
#endif

static MPI_Comm inter;
static int color, lrank, lsize, rsize, round_no;

/* World rank of local rank k of the remote group. */
static int remote_world(int k) { return (1 - color) + 2 * k; }

static int val(int world, int i) { return (world + 1) * 100000 + i * 3 + round_no; }

static void *make_ints(char where, int n, int world) {
    int *h = malloc((n ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) h[i] = val(world, i);
    void *b = vt_alloc(where, n * sizeof(int));
    vt_put(b, h, n * sizeof(int));
    free(h);
    return b;
}

static void marks(int *e, int n) { memset(e, VT_MARK, n * sizeof(int)); }

static void check(const char *op, const char *pl, const void *buf, const int *e, int n) {
    char what[96];
    snprintf(what, sizeof what, "intercomm %s round %d (%s, group %d)", op, round_no, pl, color);
    vt_check(what, buf, (const unsigned char *)e, n * sizeof(int));
}

/* The root is local rank 0 of group `rootgroup`. */
static int root_arg(int rootgroup) {
    if (color == rootgroup) return lrank == 0 ? MPI_ROOT : MPI_PROC_NULL;
    return 0;
}

static void test_rooted(const char *pl, int rg) {
    const int n = 40;
    int root = root_arg(rg);
    int *e = malloc(4 * n * rsize * sizeof(int) + 64);
    int counts[64], displs[64];

    /* Bcast from the root to the other group */
    void *b = color == rg && lrank == 0 ? make_ints(pl[1], n, 0) : vt_make(pl[1], n * sizeof(int), 0);
    COLL(Bcast, Ibcast, b, n, MPI_INT, root, inter);
    if (color == rg && lrank != 0) marks(e, n);
    else for (int i = 0; i < n; i++) e[i] = val(0, i);
    check("Bcast", pl, b, e, n);
    vt_free(b);

    /* Gather: the other group sends n ints each to the root */
    void *s = make_ints(pl[0], n, vt_rank);
    void *r = vt_make(pl[1], n * rsize * sizeof(int), 0);
    COLL(Gather, Igather, s, n, MPI_INT, r, n, MPI_INT, root, inter);
    if (root == MPI_ROOT) {
        for (int k = 0; k < rsize; k++)
            for (int i = 0; i < n; i++) e[k * n + i] = val(remote_world(k), i);
    } else {
        marks(e, n * rsize);
    }
    check("Gather", pl, r, e, n * rsize);
    vt_free(r);

    /* Gatherv with gaps: remote rank k sends k + 2 ints to displacement 3 + k * (n + 1) */
    for (int k = 0; k < rsize; k++) counts[k] = k + 2, displs[k] = 3 + k * (n + 1);
    r = vt_make(pl[1], (3 + rsize * (n + 1)) * sizeof(int), 0);
    COLL(Gatherv, Igatherv, s, lrank + 2, MPI_INT, r, counts, displs, MPI_INT, root, inter);
    marks(e, 3 + rsize * (n + 1));
    if (root == MPI_ROOT)
        for (int k = 0; k < rsize; k++)
            for (int i = 0; i < counts[k]; i++) e[displs[k] + i] = val(remote_world(k), i);
    check("Gatherv", pl, r, e, 3 + rsize * (n + 1));
    vt_free(r);
    vt_free(s);

    /* Scatter: the root sends n ints to each process of the other group */
    s = color == rg && lrank == 0 ? make_ints(pl[0], n * rsize, vt_rank) : vt_make(pl[0], n * rsize * sizeof(int), 0);
    r = vt_make(pl[1], (n + 2) * sizeof(int), 0);
    COLL(Scatter, Iscatter, s, n, MPI_INT, r, n, MPI_INT, root, inter);
    marks(e, n + 2);
    if (color != rg)
        for (int i = 0; i < n; i++) e[i] = val(remote_world(0), lrank * n + i);
    check("Scatter", pl, r, e, n + 2);
    vt_free(r);

    /* Scatterv */
    for (int k = 0; k < rsize; k++) counts[k] = 5 + k, displs[k] = 2 * k * n / 2;
    r = vt_make(pl[1], (n + 2) * sizeof(int), 0);
    COLL(Scatterv, Iscatterv, s, counts, displs, MPI_INT, r, 5 + lrank, MPI_INT, root, inter);
    marks(e, n + 2);
    if (color != rg)
        for (int i = 0; i < 5 + lrank; i++) e[i] = val(remote_world(0), lrank * n + i);
    check("Scatterv", pl, r, e, n + 2);
    vt_free(r);
    vt_free(s);

    /* Reduce: the other group's data is summed into the root */
    s = make_ints(pl[0], n, vt_rank);
    r = vt_make(pl[1], n * sizeof(int), 0);
    COLL(Reduce, Ireduce, s, r, n, MPI_INT, MPI_SUM, root, inter);
    if (root == MPI_ROOT) {
        for (int i = 0; i < n; i++) {
            e[i] = 0;
            for (int k = 0; k < rsize; k++) e[i] += val(remote_world(k), i);
        }
    } else {
        marks(e, n);
    }
    check("Reduce", pl, r, e, n);
    vt_free(r);
    vt_free(s);
    free(e);
}

static void test_all(const char *pl) {
    const int n = 24;
    int *e = malloc((n + 8) * rsize * 4 * sizeof(int));
    int sc[64], sd[64];
    MPI_Datatype types[64];

    void *s = make_ints(pl[0], n * rsize, vt_rank);
    void *r = vt_make(pl[1], n * rsize * sizeof(int), 0);
    COLL(Allgather, Iallgather, s, n, MPI_INT, r, n, MPI_INT, inter);
    for (int k = 0; k < rsize; k++)
        for (int i = 0; i < n; i++) e[k * n + i] = val(remote_world(k), i);
    check("Allgather", pl, r, e, n * rsize);
    vt_free(r);

    for (int k = 0; k < rsize; k++) sc[k] = k + 1, sd[k] = 1 + k * (n + 2);
    r = vt_make(pl[1], (1 + rsize * (n + 2)) * sizeof(int), 0);
    COLL(Allgatherv, Iallgatherv, s, lrank + 1, MPI_INT, r, sc, sd, MPI_INT, inter);
    marks(e, 1 + rsize * (n + 2));
    for (int k = 0; k < rsize; k++)
        for (int i = 0; i < sc[k]; i++) e[sd[k] + i] = val(remote_world(k), i);
    check("Allgatherv", pl, r, e, 1 + rsize * (n + 2));
    vt_free(r);

    /* Alltoall: block k of my send buffer goes to remote rank k */
    r = vt_make(pl[1], n * rsize * sizeof(int), 0);
    COLL(Alltoall, Ialltoall, s, n, MPI_INT, r, n, MPI_INT, inter);
    for (int k = 0; k < rsize; k++)
        for (int i = 0; i < n; i++) e[k * n + i] = val(remote_world(k), lrank * n + i);
    check("Alltoall", pl, r, e, n * rsize);
    vt_free(r);

    /* Alltoallv and Alltoallw: 3 ints to every remote rank, received with gaps */
    int three[64], sdisp[64];
    for (int k = 0; k < rsize; k++) three[k] = 3, sdisp[k] = k * n, sd[k] = 2 + 5 * k, types[k] = MPI_INT;
    r = vt_make(pl[1], (2 + 5 * rsize) * sizeof(int), 0);
    COLL(Alltoallv, Ialltoallv, s, three, sdisp, MPI_INT, r, three, sd, MPI_INT, inter);
    marks(e, 2 + 5 * rsize);
    for (int k = 0; k < rsize; k++)
        for (int i = 0; i < 3; i++) e[sd[k] + i] = val(remote_world(k), lrank * n + i);
    check("Alltoallv", pl, r, e, 2 + 5 * rsize);
    vt_free(r);
    int sbytes[64], rbytes[64];
    for (int k = 0; k < rsize; k++) sbytes[k] = sdisp[k] * 4, rbytes[k] = sd[k] * 4;
    r = vt_make(pl[1], (2 + 5 * rsize) * sizeof(int), 0);
    COLL(Alltoallw, Ialltoallw, s, three, sbytes, types, r, three, rbytes, types, inter);
    check("Alltoallw", pl, r, e, 2 + 5 * rsize);
    vt_free(r);
    vt_free(s);

    /* Allreduce: the reduction of the remote group's data */
    s = make_ints(pl[0], n, vt_rank);
    r = vt_make(pl[1], n * sizeof(int), 0);
    COLL(Allreduce, Iallreduce, s, r, n, MPI_INT, MPI_SUM, inter);
    for (int i = 0; i < n; i++) {
        e[i] = 0;
        for (int k = 0; k < rsize; k++) e[i] += val(remote_world(k), i);
    }
    check("Allreduce", pl, r, e, n);
    vt_free(r);
    vt_free(s);

    /* Reduce_scatter_block and Reduce_scatter: 12 elements per group, split over the local group */
    int total = 12, rc = total / lsize;
    if (total % lsize == 0) {
        s = make_ints(pl[0], total, vt_rank);
        r = vt_make(pl[1], (rc + 2) * sizeof(int), 0);
        COLL(Reduce_scatter_block, Ireduce_scatter_block, s, r, rc, MPI_INT, MPI_SUM, inter);
        marks(e, rc + 2);
        for (int i = 0; i < rc; i++) {
            e[i] = 0;
            for (int k = 0; k < rsize; k++) e[i] += val(remote_world(k), lrank * rc + i);
        }
        check("Reduce_scatter_block", pl, r, e, rc + 2);
        vt_free(r);
        for (int k = 0; k < lsize; k++) sc[k] = rc;
        r = vt_make(pl[1], (rc + 2) * sizeof(int), 0);
        COLL(Reduce_scatter, Ireduce_scatter, s, r, sc, MPI_INT, MPI_SUM, inter);
        check("Reduce_scatter", pl, r, e, rc + 2);
        vt_free(r);
        vt_free(s);
    }
    free(e);
}

int main(int argc, char **argv) {
    MPI_Comm local;
    vt_init(&argc, &argv);
    COLL_BEGIN();
    if (vt_size < 2) {
        COLL_END();
        return vt_finish("intercomm (" COLL_KIND ")");
    }
    color = vt_rank % 2;
    MPI_Comm_split(MPI_COMM_WORLD, color, vt_rank, &local);
    MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, 1 - color, 77, &inter);
    MPI_Comm_rank(inter, &lrank);
    MPI_Comm_size(inter, &lsize);
    MPI_Comm_remote_size(inter, &rsize);
    /* "host": round 0 only (host buffers everywhere), to check the expectations without libmpive */
    int rounds = argc > 1 && !strcmp(argv[1], "host") ? 1 : 2 * VT_NPLACE;
    for (round_no = 0; round_no < rounds; round_no++) {
        const char *pl = vt_placements[(round_no < VT_NPLACE ? round_no : round_no + vt_rank) % VT_NPLACE];
        test_rooted(pl, 0);
        test_rooted(pl, 1);
        test_all(pl);
    }
    MPI_Comm_free(&inter);
    MPI_Comm_free(&local);
    COLL_END();
    return vt_finish("intercomm (" COLL_KIND ")");
}
