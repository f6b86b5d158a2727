/*
 * MPI-4 large-count (`_c`) functions with VE, host and mixed buffers, called through weak
 * declarations as mpi4py's binary wheels do. With MPICH 4 they reach PMPI_X_c; with Open MPI 4.1,
 * which has none, libmpive serves them with the int PMPI_X after converting every count and
 * displacement the call reads, and reports MPI_ERR_COUNT when one does not fit in an int.
 *
 *   large [errors | FILE]   (errors: only the MPI_ERR_COUNT checks, on an MPI without large-count
 *                            functions; FILE: also MPI_File_write_at_c/read_at_c/iread_at_c on FILE)
 */
#include "vetest.h"
#include <dlfcn.h>
#include <limits.h>

#ifndef MPICH
/* Open MPI 4.1's mpi.h declares none of them. */
int MPI_Send_c(const void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm);
int MPI_Recv_c(void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Status *);
int MPI_Isend_c(const void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
int MPI_Irecv_c(void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
int MPI_Send_init_c(const void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
int MPI_Recv_init_c(void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
int MPI_Sendrecv_c(const void *, MPI_Count, MPI_Datatype, int, int, void *, MPI_Count, MPI_Datatype, int, int,
                   MPI_Comm, MPI_Status *);
int MPI_Bcast_c(void *, MPI_Count, MPI_Datatype, int, MPI_Comm);
int MPI_Allreduce_c(const void *, void *, MPI_Count, MPI_Datatype, MPI_Op, MPI_Comm);
int MPI_Iallreduce_c(const void *, void *, MPI_Count, MPI_Datatype, MPI_Op, MPI_Comm, MPI_Request *);
int MPI_Reduce_c(const void *, void *, MPI_Count, MPI_Datatype, MPI_Op, int, MPI_Comm);
int MPI_Gatherv_c(const void *, MPI_Count, MPI_Datatype, void *, const MPI_Count[], const MPI_Aint[], MPI_Datatype,
                  int, MPI_Comm);
int MPI_Scatterv_c(const void *, const MPI_Count[], const MPI_Aint[], MPI_Datatype, void *, MPI_Count, MPI_Datatype,
                   int, MPI_Comm);
int MPI_Allgatherv_c(const void *, MPI_Count, MPI_Datatype, void *, const MPI_Count[], const MPI_Aint[],
                     MPI_Datatype, MPI_Comm);
int MPI_Alltoallv_c(const void *, const MPI_Count[], const MPI_Aint[], MPI_Datatype, void *, const MPI_Count[],
                    const MPI_Aint[], MPI_Datatype, MPI_Comm);
int MPI_Ialltoallv_c(const void *, const MPI_Count[], const MPI_Aint[], MPI_Datatype, void *, const MPI_Count[],
                     const MPI_Aint[], MPI_Datatype, MPI_Comm, MPI_Request *);
int MPI_Alltoallw_c(const void *, const MPI_Count[], const MPI_Aint[], const MPI_Datatype[], void *,
                    const MPI_Count[], const MPI_Aint[], const MPI_Datatype[], MPI_Comm);
int MPI_Reduce_scatter_c(const void *, void *, const MPI_Count[], MPI_Datatype, MPI_Op, MPI_Comm);
int MPI_Bsend_c(const void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm);
int MPI_Pack_c(const void *, MPI_Count, MPI_Datatype, void *, MPI_Count, MPI_Count *, MPI_Comm);
int MPI_Unpack_c(const void *, MPI_Count, MPI_Count *, void *, MPI_Count, MPI_Datatype, MPI_Comm);
int MPI_File_write_at_c(MPI_File, MPI_Offset, const void *, MPI_Count, MPI_Datatype, MPI_Status *);
int MPI_File_read_at_c(MPI_File, MPI_Offset, void *, MPI_Count, MPI_Datatype, MPI_Status *);
int MPI_File_iread_at_c(MPI_File, MPI_Offset, void *, MPI_Count, MPI_Datatype, MPI_Request *);
int MPI_File_write_at_all_begin_c(MPI_File, MPI_Offset, const void *, MPI_Count, MPI_Datatype);
int MPI_File_read_at_all_begin_c(MPI_File, MPI_Offset, void *, MPI_Count, MPI_Datatype);
int MPI_Neighbor_alltoallv_c(const void *, const MPI_Count[], const MPI_Aint[], MPI_Datatype, void *,
                             const MPI_Count[], const MPI_Aint[], MPI_Datatype, MPI_Comm);
int MPI_Neighbor_alltoallw_c(const void *, const MPI_Count[], const MPI_Aint[], const MPI_Datatype[], void *,
                             const MPI_Count[], const MPI_Aint[], const MPI_Datatype[], MPI_Comm);
#endif
#pragma weak MPI_Send_c
#pragma weak MPI_Recv_c
#pragma weak MPI_Isend_c
#pragma weak MPI_Irecv_c
#pragma weak MPI_Send_init_c
#pragma weak MPI_Recv_init_c
#pragma weak MPI_Sendrecv_c
#pragma weak MPI_Bcast_c
#pragma weak MPI_Allreduce_c
#pragma weak MPI_Iallreduce_c
#pragma weak MPI_Reduce_c
#pragma weak MPI_Gatherv_c
#pragma weak MPI_Scatterv_c
#pragma weak MPI_Allgatherv_c
#pragma weak MPI_Alltoallv_c
#pragma weak MPI_Ialltoallv_c
#pragma weak MPI_Alltoallw_c
#pragma weak MPI_Reduce_scatter_c
#pragma weak MPI_Bsend_c
#pragma weak MPI_Pack_c
#pragma weak MPI_Unpack_c
#pragma weak MPI_File_write_at_c
#pragma weak MPI_File_read_at_c
#pragma weak MPI_File_iread_at_c
#pragma weak MPI_File_write_at_all_begin_c
#pragma weak MPI_File_read_at_all_begin_c
#pragma weak MPI_Neighbor_alltoallv_c
#pragma weak MPI_Neighbor_alltoallw_c

static int ival(int r, int i) { return (r + 1) * 100000 + i; }

/* n ints of rank r's data at `where`. */
static int *ints(char where, int n, int r) {
    int *h = malloc((n ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) h[i] = r < 0 ? -1 : ival(r, i);
    int *b = vt_alloc(where, (n ? n : 1) * sizeof(int));
    vt_put(b, h, n * sizeof(int));
    free(h);
    return b;
}

static void expect_ints(const char *what, const char *pl, const void *buf, const int *e, int n) {
    char w[128];
    snprintf(w, sizeof w, "%s (%s)", what, pl);
    vt_check(w, buf, (const unsigned char *)e, n * sizeof(int));
}

static void p2p(const char *pl) {
    const int n = 4000;
    int me = vt_rank, peer = vt_rank ^ 1;
    int *e = malloc(n * sizeof(int));
    if (peer >= vt_size) return;
    for (int i = 0; i < n; i++) e[i] = ival(peer, i);

    int *s = ints(pl[0], n, me), *r = ints(pl[1], n, -1);
    MPI_Status st;
    if (me % 2 == 0) {
        MPI_Send_c(s, n, MPI_INT, peer, 1, MPI_COMM_WORLD);
        MPI_Recv_c(r, n, MPI_INT, peer, 2, MPI_COMM_WORLD, &st);
    } else {
        MPI_Recv_c(r, n, MPI_INT, peer, 1, MPI_COMM_WORLD, &st);
        MPI_Send_c(s, n, MPI_INT, peer, 2, MPI_COMM_WORLD);
    }
    expect_ints("Send_c/Recv_c", pl, r, e, n);
    int cnt = -1;
    MPI_Get_count(&st, MPI_INT, &cnt);
    VT_ASSERT(cnt == n, "Recv_c status count %d (%s)", cnt, pl);
    vt_free(r);

    r = ints(pl[1], n, -1);
    MPI_Request q[2];
    MPI_Irecv_c(r, n, MPI_INT, peer, 3, MPI_COMM_WORLD, &q[0]);
    MPI_Isend_c(s, n, MPI_INT, peer, 3, MPI_COMM_WORLD, &q[1]);
    MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    expect_ints("Isend_c/Irecv_c", pl, r, e, n);
    vt_free(r);

    r = ints(pl[1], n, -1);
    MPI_Recv_init_c(r, n, MPI_INT, peer, 4, MPI_COMM_WORLD, &q[0]);
    MPI_Send_init_c(s, n, MPI_INT, peer, 4, MPI_COMM_WORLD, &q[1]);
    for (int k = 0; k < 2; k++) {
        MPI_Startall(2, q);
        MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
        expect_ints("Send_init_c/Recv_init_c", pl, r, e, n);
    }
    MPI_Request_free(&q[0]);
    MPI_Request_free(&q[1]);
    vt_free(r);

    r = ints(pl[1], n, -1);
    MPI_Sendrecv_c(s, n, MPI_INT, peer, 5, r, n, MPI_INT, peer, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    expect_ints("Sendrecv_c", pl, r, e, n);
    vt_free(r);
    vt_free(s);
    free(e);
}

static void coll(const char *pl) {
    const int n = 300, P = vt_size, me = vt_rank;
    int *e = malloc((size_t)n * P * sizeof(int));

    /* Bcast_c from rank 1 % P */
    int root = 1 % P;
    int *b = ints(pl[1], n, me == root ? root : -1);
    MPI_Bcast_c(b, n, MPI_INT, root, MPI_COMM_WORLD);
    for (int i = 0; i < n; i++) e[i] = ival(root, i);
    expect_ints("Bcast_c", pl, b, e, n);
    vt_free(b);

    /* Allreduce_c, in place too; Reduce_c; Iallreduce_c */
    int *s = ints(pl[0], n, me), *r = ints(pl[1], n, -1);
    for (int i = 0; i < n; i++) {
        e[i] = 0;
        for (int k = 0; k < P; k++) e[i] += ival(k, i);
    }
    MPI_Allreduce_c(s, r, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    expect_ints("Allreduce_c", pl, r, e, n);
    vt_free(r);
    r = ints(pl[1], n, me);
    MPI_Allreduce_c(MPI_IN_PLACE, r, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    expect_ints("Allreduce_c IN_PLACE", pl, r, e, n);
    vt_free(r);
    r = ints(pl[1], n, -1);
    MPI_Reduce_c(s, r, n, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (me == 0) expect_ints("Reduce_c", pl, r, e, n);
    vt_free(r);
    r = ints(pl[1], n, -1);
    MPI_Request q;
    MPI_Iallreduce_c(s, r, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &q);
    MPI_Wait(&q, MPI_STATUS_IGNORE);
    expect_ints("Iallreduce_c", pl, r, e, n);
    vt_free(r);
    vt_free(s);

    /* v variants: rank k contributes k + 1 ints, stored with a gap of 2 between blocks */
    MPI_Count *cnt = malloc(P * sizeof *cnt);
    MPI_Aint *dsp = malloc(P * sizeof *dsp);
    MPI_Aint tot = 0;
    for (int k = 0; k < P; k++) {
        cnt[k] = k + 1;
        dsp[k] = tot;
        tot += k + 1 + 2;
    }
    for (MPI_Aint i = 0; i < tot; i++) e[i] = -1;
    for (int k = 0; k < P; k++)
        for (int i = 0; i <= k; i++) e[dsp[k] + i] = ival(k, i);
    s = ints(pl[0], me + 1, me);
    r = ints(pl[1], (int)tot, -1);
    MPI_Gatherv_c(s, me + 1, MPI_INT, r, cnt, dsp, MPI_INT, 0, MPI_COMM_WORLD);
    if (me == 0) expect_ints("Gatherv_c", pl, r, e, (int)tot);
    vt_free(r);
    r = ints(pl[1], (int)tot, -1);
    MPI_Allgatherv_c(s, me + 1, MPI_INT, r, cnt, dsp, MPI_INT, MPI_COMM_WORLD);
    expect_ints("Allgatherv_c", pl, r, e, (int)tot);
    vt_free(r);
    vt_free(s);

    /* Scatterv_c from root 0: rank k gets block k of the gathered layout */
    s = vt_alloc(pl[0], tot * sizeof(int));
    vt_put(s, e, tot * sizeof(int));
    r = ints(pl[1], me + 1, -1);
    MPI_Scatterv_c(s, cnt, dsp, MPI_INT, r, me + 1, MPI_INT, 0, MPI_COMM_WORLD);
    expect_ints("Scatterv_c", pl, r, e + dsp[me], me + 1);
    vt_free(r);
    vt_free(s);

    /* Alltoallv_c and Ialltoallv_c: k + 1 ints from every rank to rank k; Alltoallw_c alike, in bytes */
    MPI_Count *sc = malloc(P * sizeof *sc), *rc = malloc(P * sizeof *rc);
    MPI_Aint *sd = malloc(P * sizeof *sd), *rd = malloc(P * sizeof *rd), *sdb = malloc(P * sizeof *sdb),
             *rdb = malloc(P * sizeof *rdb);
    MPI_Datatype *ty = malloc(P * sizeof *ty);
    int stot = 0, rtot = 0;
    for (int k = 0; k < P; k++) {
        sc[k] = k + 1;
        sd[k] = stot;
        sdb[k] = stot * sizeof(int);
        stot += k + 1;
        rc[k] = me + 1;
        rd[k] = rtot;
        rdb[k] = rtot * sizeof(int);
        rtot += me + 1;
        ty[k] = MPI_INT;
    }
    int *sh = malloc(stot * sizeof(int));
    for (int k = 0; k < P; k++)
        for (int i = 0; i <= k; i++) sh[sd[k] + i] = ival(me, k * 1000 + i);
    for (int k = 0; k < P; k++)
        for (int i = 0; i <= me; i++) e[rd[k] + i] = ival(k, me * 1000 + i);
    s = vt_alloc(pl[0], stot * sizeof(int));
    vt_put(s, sh, stot * sizeof(int));
    r = ints(pl[1], rtot, -1);
    MPI_Alltoallv_c(s, sc, sd, MPI_INT, r, rc, rd, MPI_INT, MPI_COMM_WORLD);
    expect_ints("Alltoallv_c", pl, r, e, rtot);
    vt_free(r);
    r = ints(pl[1], rtot, -1);
    MPI_Ialltoallv_c(s, sc, sd, MPI_INT, r, rc, rd, MPI_INT, MPI_COMM_WORLD, &q);
    MPI_Wait(&q, MPI_STATUS_IGNORE);
    expect_ints("Ialltoallv_c", pl, r, e, rtot);
    vt_free(r);
    r = ints(pl[1], rtot, -1);
    MPI_Alltoallw_c(s, sc, sdb, ty, r, rc, rdb, ty, MPI_COMM_WORLD);
    expect_ints("Alltoallw_c", pl, r, e, rtot);
    vt_free(r);
    vt_free(s);

    /* Reduce_scatter_c: rank k gets k + 1 sums */
    s = ints(pl[0], stot, me);
    r = ints(pl[1], me + 1, -1);
    MPI_Reduce_scatter_c(s, r, sc, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i <= me; i++) {
        e[i] = 0;
        for (int k = 0; k < P; k++) e[i] += ival(k, (int)sd[me] + i);
    }
    expect_ints("Reduce_scatter_c", pl, r, e, me + 1);
    vt_free(r);
    vt_free(s);
    free(sc), free(rc), free(sd), free(rd), free(sdb), free(rdb), free(ty), free(sh), free(cnt), free(dsp), free(e);
}

/* MPI_Pack_c and MPI_Unpack_c: two messages packed one after the other at an MPI_Count position into
 * a buffer at pl[1], unpacked into buffers at pl[0]. */
static void pack(const char *pl) {
    const int n = 300;
    int psize = 0;
    MPI_Pack_size(2 * n, MPI_INT, MPI_COMM_WORLD, &psize);
    int *a = ints(pl[0], n, vt_rank), *b = ints(pl[0], n, vt_rank + 1);
    char *packed = vt_alloc(pl[1], psize + 16);
    MPI_Count pos = 0;
    MPI_Pack_c(a, n, MPI_INT, packed, psize + 16, &pos, MPI_COMM_WORLD);
    MPI_Count mid = pos;
    MPI_Pack_c(b, n, MPI_INT, packed, psize + 16, &pos, MPI_COMM_WORLD);
    VT_ASSERT(mid == n * (MPI_Count)sizeof(int) && pos == 2 * mid, "Pack_c positions %lld, %lld (%s)", (long long)mid, (long long)pos, pl);
    int *x = ints(pl[0], n, -1), *y = ints(pl[0], n, -1), *e = malloc(n * sizeof(int));
    MPI_Count upos = 0;
    MPI_Unpack_c(packed, pos, &upos, x, n, MPI_INT, MPI_COMM_WORLD);
    MPI_Unpack_c(packed, pos, &upos, y, n, MPI_INT, MPI_COMM_WORLD);
    VT_ASSERT(upos == pos, "Unpack_c position %lld, want %lld (%s)", (long long)upos, (long long)pos, pl);
    for (int i = 0; i < n; i++) e[i] = ival(vt_rank, i);
    expect_ints("Pack_c/Unpack_c first", pl, x, e, n);
    for (int i = 0; i < n; i++) e[i] = ival(vt_rank + 1, i);
    expect_ints("Pack_c/Unpack_c second", pl, y, e, n);
    vt_free(a), vt_free(b), vt_free(packed), vt_free(x), vt_free(y);
    free(e);
}

/* Neighbor_alltoallv_c and Neighbor_alltoallw_c on a ring (distributed graph, neighbors [left, right]):
 * the array lengths come from the topology. Block 0 goes left with n - 1 ints, block 1 right with n.
 * Three ranks or more. */
static void neighbor(const char *pl) {
    const int n = 100, me = vt_rank, P = vt_size;
    if (P < 3) return; /* left and right must differ: the order of two edges to one rank is unspecified */
    int nb[2] = {(me + P - 1) % P, (me + 1) % P};
    MPI_Comm ring;
    MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, nb, MPI_UNWEIGHTED, 2, nb, MPI_UNWEIGHTED, MPI_INFO_NULL, 0, &ring);
    MPI_Count sc[2] = {n - 1, n}, rc[2] = {n, n - 1};
    MPI_Aint sd[2] = {0, n}, rd[2] = {0, n + 4}, sdb[2] = {0, n * sizeof(int)}, rdb[2] = {0, (n + 4) * sizeof(int)};
    MPI_Datatype ty[2] = {MPI_INT, MPI_INT};
    int *sh = malloc(2 * n * sizeof(int)), *e = malloc((2 * n + 4) * sizeof(int));
    for (int i = 0; i < 2 * n; i++) sh[i] = ival(me, i);
    for (int i = 0; i < 2 * n + 4; i++) e[i] = -1;
    for (int i = 0; i < n; i++) e[i] = ival(nb[0], n + i);          /* left's block 1 */
    for (int i = 0; i < n - 1; i++) e[n + 4 + i] = ival(nb[1], i);  /* right's block 0 */
    int *s = vt_alloc(pl[0], 2 * n * sizeof(int));
    vt_put(s, sh, 2 * n * sizeof(int));
    int *r = ints(pl[1], 2 * n + 4, -1);
    MPI_Neighbor_alltoallv_c(s, sc, sd, MPI_INT, r, rc, rd, MPI_INT, ring);
    expect_ints("Neighbor_alltoallv_c", pl, r, e, 2 * n + 4);
    vt_free(r);
    r = ints(pl[1], 2 * n + 4, -1);
    MPI_Neighbor_alltoallw_c(s, sc, sdb, ty, r, rc, rdb, ty, ring);
    expect_ints("Neighbor_alltoallw_c", pl, r, e, 2 * n + 4);
    vt_free(r);
    vt_free(s);
    free(sh), free(e);
    MPI_Comm_free(&ring);
}

/* MPI_File_write_at_c, MPI_File_read_at_c and MPI_File_iread_at_c: each rank writes its block from
 * VE or host memory and reads the next rank's back. */
static void file(const char *pl, const char *base) {
    const int n = 1000, me = vt_rank, next = (vt_rank + 1) % vt_size;
    char path[4096]; /* one file per placement */
    snprintf(path, sizeof path, "%s.%s", base, pl);
    MPI_File fh;
    MPI_Status st;
    MPI_Request q;
    MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    int *w = ints(pl[0], n, me), *r = ints(pl[1], n, -1), *e = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) e[i] = ival(next, i);
    MPI_File_write_at_c(fh, (MPI_Offset)me * n * sizeof(int), w, n, MPI_INT, &st);
    MPI_File_sync(fh);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_File_sync(fh);
    MPI_File_read_at_c(fh, (MPI_Offset)next * n * sizeof(int), r, n, MPI_INT, &st);
    int cnt = -1;
    MPI_Get_count(&st, MPI_INT, &cnt);
    VT_ASSERT(cnt == n, "File_read_at_c count %d (%s)", cnt, pl);
    expect_ints("File_write_at_c/read_at_c", pl, r, e, n);
    vt_free(r);
    r = ints(pl[1], n, -1);
    MPI_File_iread_at_c(fh, (MPI_Offset)next * n * sizeof(int), r, n, MPI_INT, &q);
    MPI_Wait(&q, MPI_STATUS_IGNORE);
    expect_ints("File_iread_at_c", pl, r, e, n);
    vt_free(r);

    /* split collectives: the begin part is `_c`, the end part is the int one; nobody overwrites a
     * block before its reader has read it */
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < n; i++) e[i] = ival(next, i) + 7;
    vt_free(w);
    w = ints(pl[0], n, me);
    int *h = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) h[i] = ival(me, i) + 7;
    vt_put(w, h, n * sizeof(int));
    free(h);
    MPI_File_write_at_all_begin_c(fh, (MPI_Offset)me * n * sizeof(int), w, n, MPI_INT);
    MPI_File_write_at_all_end(fh, w, MPI_STATUS_IGNORE);
    MPI_File_sync(fh);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_File_sync(fh);
    r = ints(pl[1], n, -1);
    MPI_File_read_at_all_begin_c(fh, (MPI_Offset)next * n * sizeof(int), r, n, MPI_INT);
    MPI_File_read_at_all_end(fh, r, MPI_STATUS_IGNORE);
    expect_ints("File_write/read_at_all_begin_c", pl, r, e, n);
    vt_free(r);
    vt_free(w);
    free(e);
    MPI_File_close(&fh);
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == 0) MPI_File_delete(path, MPI_INFO_NULL);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* On an MPI without large-count functions: counts that do not fit in an int are MPI_ERR_COUNT, raised
 * through the communicator's handler, for host and VE buffers (nothing is staged), scalars and arrays. */
static void errors(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    char *h = malloc(16);
    void *v = vt_alloc('v', 16);
    MPI_Count big = (MPI_Count)INT_MAX + 1;
    int cls = -1, rc;
    char msg[MPI_MAX_ERROR_STRING];
    int len;

    rc = MPI_Send_c(h, big, MPI_BYTE, vt_rank, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    VT_ASSERT(cls == MPI_ERR_COUNT, "Send_c host, count INT_MAX+1: class %d, want MPI_ERR_COUNT", cls);
    MPI_Error_string(rc, msg, &len);
    VT_ASSERT(strstr(msg, "MPI_Send_c") && strstr(msg, "count"), "message: %s", msg);

    cls = -1;
    rc = MPI_Send_c(v, big, MPI_BYTE, vt_rank, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    VT_ASSERT(cls == MPI_ERR_COUNT, "Send_c VE, count INT_MAX+1: class %d, want MPI_ERR_COUNT", cls);

    MPI_Count *c = calloc(vt_size, sizeof *c);
    MPI_Aint *d = calloc(vt_size, sizeof *d);
    c[vt_size - 1] = big;
    cls = -1;
    rc = MPI_Alltoallv_c(v, c, d, MPI_BYTE, v, c, d, MPI_BYTE, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    VT_ASSERT(cls == MPI_ERR_COUNT, "Alltoallv_c, counts[last] INT_MAX+1: class %d, want MPI_ERR_COUNT", cls);
    c[vt_size - 1] = 0;
    d[0] = (MPI_Aint)INT_MAX * 4;
    cls = -1;
    rc = MPI_Alltoallv_c(h, c, d, MPI_BYTE, h, c, d, MPI_BYTE, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    VT_ASSERT(cls == MPI_ERR_COUNT, "Alltoallv_c, displs[0] 4*INT_MAX: class %d, want MPI_ERR_COUNT", cls);

    /* a refused call stays refused in its large-count form */
    cls = -1;
    rc = MPI_Bsend_c(v, 4, MPI_BYTE, vt_rank, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    VT_ASSERT(cls == MPI_ERR_UNSUPPORTED_OPERATION, "Bsend_c VE: class %d", cls);
    free(c), free(d), free(h);
    vt_free(v);
}

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    VT_ASSERT(MPI_Send_c != NULL, "MPI_Send_c is not defined (is libmpive preloaded?)");
    int native = dlsym(RTLD_DEFAULT, "PMPI_Send_c") != NULL;
    if (vt_rank == 0) printf("large-count functions of the MPI: %s\n", native ? "yes" : "no (served by the int ones)");
    if (argc > 1 && !strcmp(argv[1], "errors")) {
        if (!native) errors();
        return vt_finish("large errors");
    }
    for (int k = 0; k < VT_NPLACE; k++) {
        p2p(vt_placements[k]);
        coll(vt_placements[k]);
        neighbor(vt_placements[k]);
        pack(vt_placements[k]);
        if (argc > 1) file(vt_placements[k], argv[1]);
    }
    /* mixed: the placement rotates with the rank */
    p2p(vt_placements[vt_rank % VT_NPLACE]);
    coll(vt_placements[vt_rank % VT_NPLACE]);
    return vt_finish("large");
}
