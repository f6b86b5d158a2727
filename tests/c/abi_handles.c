/*
 * What differs between MPI ABIs, exercised with VE buffers: handles as wide as the ABI
 * makes them (arrays of datatypes in Alltoallw, arrays of requests in Waitall/Testsome/Waitany, the
 * freed requests written back), the sentinels (MPI_IN_PLACE, MPI_STATUS(ES)_IGNORE), the status
 * layout (source, tag, error and count of every status of an array), derived datatypes (decoded
 * through MPI_Type_get_envelope, whose combiners each ABI numbers differently), topology kinds, the
 * window model attribute, and the error class of a refused call. Uses the MPI API only, so one
 * source builds for every MPI and ABI (mpicc, mpicc_abi, Intel's mpicc -mpi-abi).
 *
 *   abi_handles        2 or more ranks
 */
#include "vetest.h"

#define N 64

/* Ring exchange with Isend/Irecv into VE or host buffers; requests completed with `how`. */
static void requests(const char *pl, int how) {
    enum { K = 4 };
    int right = (vt_rank + 1) % vt_size, left = (vt_rank + vt_size - 1) % vt_size;
    void *sb[K], *rb[K];
    MPI_Request req[2 * K];
    MPI_Status st[2 * K];
    unsigned char exp[N * sizeof(int)];
    char what[96];
    for (int k = 0; k < K; k++) {
        sb[k] = vt_make(pl[0], N * sizeof(int), 100 + 10 * vt_rank + k);
        rb[k] = vt_make(pl[1], N * sizeof(int), 0);
    }
    for (int k = 0; k < K; k++) MPI_Irecv(rb[k], N, MPI_INT, MPI_ANY_SOURCE, 40 + k, MPI_COMM_WORLD, &req[k]);
    for (int k = 0; k < K; k++) MPI_Isend(sb[k], N - k, MPI_INT, right, 40 + k, MPI_COMM_WORLD, &req[K + k]);
    memset(st, 0x5a, sizeof st);
    if (how == 0) {
        MPI_Waitall(2 * K, req, st);
    } else if (how == 1) {
        int done = 0, outc, idx[2 * K];
        while (done < 2 * K) {
            MPI_Testsome(2 * K, req, &outc, idx, st + done);
            if (outc == MPI_UNDEFINED) break;
            /* statuses of Testsome come in completion order: put each where its request was */
            {
                MPI_Status tmp[2 * K];
                memcpy(tmp, st + done, outc * sizeof(MPI_Status));
                for (int i = 0; i < outc; i++) st[idx[i]] = tmp[i];
            }
            done += outc;
        }
    } else {
        for (int i = 0; i < 2 * K; i++) {
            int idx;
            MPI_Status s;
            MPI_Waitany(2 * K, req, &idx, &s);
            VT_ASSERT(idx >= 0 && idx < 2 * K, "Waitany index %d", idx);
            if (idx >= 0 && idx < 2 * K) st[idx] = s;
        }
    }
    for (int i = 0; i < 2 * K; i++)
        VT_ASSERT(req[i] == MPI_REQUEST_NULL, "%s how %d: request %d not MPI_REQUEST_NULL after completion", pl, how, i);
    for (int k = 0; k < K; k++) {
        int cnt = -1;
        snprintf(what, sizeof what, "requests %s how %d: receive %d", pl, how, k);
        memset(exp, VT_MARK, sizeof exp);
        vt_pattern(exp, (N - k) * sizeof(int), 100 + 10 * left + k);
        vt_check(what, rb[k], exp, sizeof exp);
        MPI_Get_count(&st[k], MPI_INT, &cnt);
        VT_ASSERT(st[k].MPI_SOURCE == left && st[k].MPI_TAG == 40 + k && cnt == N - k,
                  "%s: status source %d tag %d count %d, expected %d %d %d", what, st[k].MPI_SOURCE, st[k].MPI_TAG, cnt, left,
                  40 + k, N - k);
        vt_free(sb[k]);
        vt_free(rb[k]);
    }
    /* MPI_STATUSES_IGNORE */
    {
        void *s = vt_make(pl[0], sizeof(int), 7 + vt_rank), *r = vt_make(pl[1], sizeof(int), 0);
        MPI_Request rq[2];
        unsigned char e[sizeof(int)];
        MPI_Irecv(r, 1, MPI_INT, left, 49, MPI_COMM_WORLD, &rq[0]);
        MPI_Isend(s, 1, MPI_INT, right, 49, MPI_COMM_WORLD, &rq[1]);
        MPI_Waitall(2, rq, MPI_STATUSES_IGNORE);
        vt_pattern(e, sizeof e, 7 + left);
        vt_check("Waitall with MPI_STATUSES_IGNORE", r, e, sizeof e);
        VT_ASSERT(rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL, "requests not freed with MPI_STATUSES_IGNORE");
        vt_free(s);
        vt_free(r);
    }
}

/* A strided derived datatype between VE and host buffers. */
static void derived(const char *pl) {
    int right = (vt_rank + 1) % vt_size, left = (vt_rank + vt_size - 1) % vt_size;
    MPI_Datatype vec, res;
    size_t n = 16 * 8 * sizeof(double);
    unsigned char *exp = malloc(n);
    MPI_Type_vector(16, 3, 8, MPI_DOUBLE, &vec);
    MPI_Type_create_resized(vec, 0, 8 * sizeof(double), &res);
    MPI_Type_commit(&res);
    void *s = vt_make(pl[0], n, 300 + vt_rank), *r = vt_make(pl[1], n, 0);
    MPI_Status st;
    MPI_Sendrecv(s, 1, res, right, 5, r, 1, res, left, 5, MPI_COMM_WORLD, &st);
    vt_expect_typed(exp, n, 0, 1, res, 300 + left);
    vt_check("derived vector/resized", r, exp, n);
    VT_ASSERT(st.MPI_SOURCE == left && st.MPI_TAG == 5, "derived: status source %d tag %d", st.MPI_SOURCE, st.MPI_TAG);
    MPI_Type_free(&res);
    MPI_Type_free(&vec);
    vt_free(s);
    vt_free(r);
    free(exp);
}

/* Alltoallw: a different datatype per peer, in an array of handles. */
static void alltoallw(const char *pl) {
    int p = vt_size;
    int *sc = malloc(p * sizeof(int)), *rc = malloc(p * sizeof(int)), *sd = malloc(p * sizeof(int)), *rd = malloc(p * sizeof(int));
    MPI_Datatype *st = malloc(p * sizeof(MPI_Datatype)), *rt = malloc(p * sizeof(MPI_Datatype)), pair;
    MPI_Type_contiguous(2, MPI_INT, &pair);
    MPI_Type_commit(&pair);
    size_t blk = 8 * sizeof(int), n = p * blk;
    for (int i = 0; i < p; i++) {
        /* even peers: 8 MPI_INT; odd peers: 4 pairs */
        st[i] = rt[i] = (i + vt_rank) % 2 ? pair : MPI_INT;
        sc[i] = rc[i] = (i + vt_rank) % 2 ? 4 : 8;
        sd[i] = rd[i] = i * blk;
    }
    void *s = vt_make(pl[0], n, 500 + vt_rank), *r = vt_make(pl[1], n, 0);
    unsigned char *exp = malloc(n), *src = malloc(blk * p);
    MPI_Alltoallw(s, sc, sd, st, r, rc, rd, rt, MPI_COMM_WORLD);
    for (int i = 0; i < p; i++) {
        vt_pattern(src, blk * p, 500 + i);
        memcpy(exp + i * blk, src + vt_rank * blk, blk);
    }
    vt_check("Alltoallw with per-peer datatypes", r, exp, n);
    MPI_Type_free(&pair);
    vt_free(s);
    vt_free(r);
    free(exp);
    free(src);
    free(sc), free(rc), free(sd), free(rd), free(st), free(rt);
}

/* Allreduce(MPI_IN_PLACE) on a VE or host buffer. */
static void in_place(char where) {
    int v[N], e[N];
    for (int i = 0; i < N; i++) v[i] = (vt_rank + 1) * 1000 + i;
    for (int i = 0; i < N; i++) e[i] = 1000 * vt_size * (vt_size + 1) / 2 + vt_size * i;
    void *b = vt_alloc(where, sizeof v);
    vt_put(b, v, sizeof v);
    MPI_Allreduce(MPI_IN_PLACE, b, N, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    vt_check(where == 'v' ? "Allreduce(MPI_IN_PLACE) VE" : "Allreduce(MPI_IN_PLACE) host", b, (unsigned char *)e, sizeof e);
    vt_free(b);
}

/* MPI_STATUS_IGNORE and MPI_ANY_SOURCE on a VE receive; MPI_PROC_NULL. */
static void sentinels(void) {
    int right = (vt_rank + 1) % vt_size, left = (vt_rank + vt_size - 1) % vt_size;
    void *s = vt_make('v', 32, 600 + vt_rank), *r = vt_make('v', 32, 0);
    unsigned char e[32];
    MPI_Sendrecv(s, 32, MPI_BYTE, right, 6, r, 32, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    vt_pattern(e, 32, 600 + left);
    vt_check("Sendrecv into VE with MPI_STATUS_IGNORE", r, e, 32);
    MPI_Status st;
    memset(e, VT_MARK, 32);
    vt_put(r, e, 32);
    MPI_Recv(r, 32, MPI_BYTE, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
    int cnt = -1;
    MPI_Get_count(&st, MPI_BYTE, &cnt);
    VT_ASSERT(st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG && cnt == 0,
              "Recv from MPI_PROC_NULL: source %d tag %d count %d", st.MPI_SOURCE, st.MPI_TAG, cnt);
    vt_check("Recv from MPI_PROC_NULL leaves the VE buffer", r, e, 32);
    vt_free(s);
    vt_free(r);
}

/* A cartesian communicator's neighbour exchange (the shim asks MPI_Topo_test for the kind). */
static void topology(void) {
    MPI_Comm cart;
    int dims[1] = {vt_size}, periods[1] = {0}, kind = -1;
    MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &cart);
    MPI_Topo_test(cart, &kind);
    VT_ASSERT(kind == MPI_CART, "Topo_test %d, expected MPI_CART %d", kind, MPI_CART);
    int rank;
    MPI_Comm_rank(cart, &rank);
    void *s = vt_make('v', 2 * sizeof(int), 700 + rank), *r = vt_make('v', 2 * sizeof(int), 0);
    MPI_Neighbor_alltoall(s, 1, MPI_INT, r, 1, MPI_INT, cart);
    unsigned char e[2 * sizeof(int)], src[2 * sizeof(int)];
    memset(e, VT_MARK, sizeof e);
    if (rank > 0) { /* from the left neighbour: its block 1 */
        vt_pattern(src, sizeof src, 700 + rank - 1);
        memcpy(e, src + sizeof(int), sizeof(int));
    }
    if (rank < vt_size - 1) { /* from the right neighbour: its block 0 */
        vt_pattern(src, sizeof src, 700 + rank + 1);
        memcpy(e + sizeof(int), src, sizeof(int));
    }
    vt_check("Neighbor_alltoall on a non-periodic ring (VE)", r, e, sizeof e);
    vt_free(s);
    vt_free(r);
    MPI_Comm_free(&cart);
}

/* A window in VE memory is refused; the model attribute of a host window is readable. */
static void window(void) {
    MPI_Win win;
    int *base, *model = NULL, flag = 0;
    MPI_Win_allocate(64, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
    MPI_Win_get_attr(win, MPI_WIN_MODEL, &model, &flag);
    VT_ASSERT(flag && model && (*model == MPI_WIN_UNIFIED || *model == MPI_WIN_SEPARATE), "MPI_WIN_MODEL attribute");
    void *ve = vt_make('v', 16, 800 + vt_rank);
    MPI_Win_fence(0, win);
    MPI_Put(ve, 16, MPI_BYTE, (vt_rank + 1) % vt_size, 0, 16, MPI_BYTE, win);
    MPI_Win_fence(0, win);
    unsigned char e[16];
    vt_pattern(e, 16, 800 + (vt_rank + vt_size - 1) % vt_size);
    vt_check("Put from VE memory into a host window", base, e, 16);
    vt_free(ve);
    MPI_Win_free(&win);
}

/* A refused call returns MPI_ERR_UNSUPPORTED_OPERATION under MPI_ERRORS_RETURN. */
static void refused(void) {
    void *ve = vt_make('v', 64, 9);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rc = MPI_Bsend(ve, 4, MPI_INT, vt_rank, 0, MPI_COMM_WORLD);
    vt_expect_error("MPI_Bsend with a VE buffer", rc, MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Bsend");
    rc = MPI_Send(vt_fake_ve(), 4, MPI_INT, vt_rank, 0, MPI_COMM_WORLD);
    vt_expect_error("MPI_Send from a bad VE address", rc, MPI_ERR_BUFFER, "MPI_Send");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    vt_free(ve);
}

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    for (int i = 0; i < VT_NPLACE; i++) {
        for (int how = 0; how < 3; how++) requests(vt_placements[i], how);
        derived(vt_placements[i]);
        alltoallw(vt_placements[i]);
    }
    in_place('v');
    in_place('h');
    sentinels();
    topology();
    window();
    refused();
    return vt_finish("abi_handles");
}
