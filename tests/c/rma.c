/*
 * One-sided communication with VE memory: origin, result and compare buffers, and windows, in host
 * ('h') or VE ('v') memory, or for windows mixed across ranks ('m': VE on even ranks, host on odd).
 * Every result buffer and every window is compared byte for byte with what MPI-4.1 chapter 12 says.
 *
 *   rma SECTION...   sections: fence atomics pscw passive rforms attr errors largecount (default: all)
 *   rma largecount   the MPI-4 large-count forms (MPI_Put_c ...; MPICH only: Open MPI 4.1 is MPI-3.1)
 *   rma fatal        MPI_Win_attach of VE memory under the window's default (fatal) error handler:
 *                    the run must abort and print libmpive's message
 *
 * With VT_HOST_ONLY=1 only the host placement runs (checks the test itself against the plain MPI).
 *
 * A placement is three letters: origin (and compare) buffers, result buffers, window memory.
 * Windows in VE memory follow the separate memory model: the owner sees RMA updates after a
 * synchronization (fence, wait, lock of its own window, Win_sync), and its own stores become public
 * at fence, post, unlock of its own window, and Win_sync.
 */
#include "vetest.h"
#include <dlfcn.h>
#include <mpive.h>

#define N 64 /* ints per window */

static const char *const placements[] = {"hhh", "vvh", "hhv", "vvv", "vhv", "hvh", "vhh", "hvv", "vvm", "hhm"};
#define NPLACE (int)(sizeof placements / sizeof *placements)

static int me, np, right, left;

static char wplace(char w, int rank) { return w == 'm' ? (rank % 2 == 0 ? 'v' : 'h') : w; }
static int init_val(int rank, int i) { return rank * 1000 + i; }

static void put_ints(void *buf, int off, const int *v, int n) { vt_put((char *)buf + off * sizeof(int), v, n * sizeof(int)); }
static void get_ints(int *v, const void *buf, int off, int n) { vt_get(v, (const char *)buf + off * sizeof(int), n * sizeof(int)); }

/* A buffer of n ints at `where`, holding v[] (or the marker when v is NULL). */
static int *ints(char where, int n, const int *v) {
    int *b = vt_make(where, n * sizeof(int), 0);
    if (v) put_ints(b, 0, v, n);
    return b;
}

static int *int1(char where, int x) { return ints(where, 1, &x); }

static void check_ints(const char *pl, const char *what, const void *buf, const int *expect, int n) {
    char label[160];
    snprintf(label, sizeof label, "[%s] %s", pl, what);
    vt_check(label, buf, (const unsigned char *)expect, n * sizeof(int));
}

static int host_int(const void *buf) {
    int x;
    get_ints(&x, buf, 0, 1);
    return x;
}

/* A window of N ints with init_val(me, i), at w's place for this rank; exp gets its contents. */
struct win {
    MPI_Win win;
    int *mem;
    int exp[N];
};

static void win_make(struct win *w, char place) {
    for (int i = 0; i < N; i++) w->exp[i] = init_val(me, i);
    w->mem = ints(wplace(place, me), N, w->exp);
    MPI_Win_create(w->mem, N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &w->win);
}

static void win_check(const char *pl, const char *what, struct win *w) { check_ints(pl, what, w->mem, w->exp, N); }

static void win_free(struct win *w) {
    MPI_Win_free(&w->win);
    vt_free(w->mem);
}

/* Ranks whose value in v[] equals x. */
static int count_eq(const int *v, int x) {
    int c = 0;
    for (int i = 0; i < np; i++) c += v[i] == x;
    return c;
}

static MPI_Group group_of(int rank) {
    MPI_Group world, g;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_incl(world, 1, &rank, &g);
    MPI_Group_free(&world);
    return g;
}

/* ---------------------------------------------------------------------------------------------- */
/* Fence: put, get (also into a strided buffer), accumulate with MPI_SUM and MPI_REPLACE, and the
 * owner's local stores made public by the fence. */
static void test_fence(const char *pl) {
    char o = pl[0], r = pl[1];
    struct win w;
    win_make(&w, pl[2]);
    int mine[4] = {-me - 1, -me - 2, -me - 3, -me - 4};
    put_ints(w.mem, 60, mine, 4); /* a local store after creation, before the first fence */
    memcpy(&w.exp[60], mine, sizeof mine);
    MPI_Win_fence(0, w.win);

    int v[8], e[8];
    for (int k = 0; k < 8; k++) v[k] = me * 100 + k;
    int *origin = ints(o, 8, v);
    MPI_Put(origin, 8, MPI_INT, right, 0, 8, MPI_INT, w.win);
    for (int k = 0; k < 8; k++) w.exp[k] = left * 100 + k;

    int *result = ints(r, 8, NULL);
    MPI_Get(result, 8, MPI_INT, right, 16, 8, MPI_INT, w.win);

    int acc[4] = {me + 1, me + 1, me + 1, me + 1};
    int *accb = ints(o, 4, acc);
    MPI_Accumulate(accb, 4, MPI_INT, 0, 32, 4, MPI_INT, MPI_SUM, w.win);
    if (me == 0)
        for (int k = 32; k < 36; k++) w.exp[k] += np * (np + 1) / 2;

    int rep[2] = {me * 7 + 3, me * 7 + 4};
    int *repb = ints(o, 2, rep);
    MPI_Accumulate(repb, 2, MPI_INT, right, 40, 2, MPI_INT, MPI_REPLACE, w.win);
    w.exp[40] = left * 7 + 3;
    w.exp[41] = left * 7 + 4;

    int *get2 = ints(r, 4, NULL);
    MPI_Get(get2, 4, MPI_INT, right, 60, 4, MPI_INT, w.win);

    /* a strided result: 4 ints into every other slot; the holes keep the marker */
    MPI_Datatype vec;
    MPI_Type_vector(4, 1, 2, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    int *vres = ints(r, 8, NULL);
    MPI_Get(vres, 1, vec, right, 24, 4, MPI_INT, w.win);
    /* a strided origin: every other int of v[] */
    int *vorig = ints(o, 8, v);
    MPI_Put(vorig, 1, vec, right, 44, 4, MPI_INT, w.win);
    for (int k = 0; k < 4; k++) w.exp[44 + k] = left * 100 + 2 * k;
    MPI_Win_fence(0, w.win);

    for (int k = 0; k < 8; k++) e[k] = init_val(right, 16 + k);
    check_ints(pl, "fence: MPI_Get result", result, e, 8);
    for (int k = 0; k < 4; k++) e[k] = -right - 1 - k;
    check_ints(pl, "fence: MPI_Get of the target's local stores", get2, e, 4);
    int ev[8];
    memset(ev, VT_MARK, sizeof ev);
    for (int k = 0; k < 4; k++) ev[2 * k] = init_val(right, 24 + k);
    check_ints(pl, "fence: MPI_Get into a strided buffer", vres, ev, 8);
    win_check(pl, "fence: window after the epoch", &w);
    MPI_Barrier(MPI_COMM_WORLD); /* before the next epoch changes it */

    /* a second epoch closed with MPI_MODE_NOSTORE (no local stores since the last fence) */
    MPI_Put(origin, 4, MPI_INT, right, 8, 4, MPI_INT, w.win);
    for (int k = 0; k < 4; k++) w.exp[8 + k] = left * 100 + k;
    MPI_Win_fence(MPI_MODE_NOSTORE | MPI_MODE_NOSUCCEED, w.win);
    win_check(pl, "fence: window after a NOSTORE fence", &w);

    MPI_Type_free(&vec);
    win_free(&w);
    vt_free(origin), vt_free(result), vt_free(accb), vt_free(repb), vt_free(get2), vt_free(vres), vt_free(vorig);
}

/* ---------------------------------------------------------------------------------------------- */
/* Fetch_and_op, Compare_and_swap, Get_accumulate (SUM, REPLACE, NO_OP) under fence. */
static void test_atomics(const char *pl) {
    char o = pl[0], r = pl[1];
    struct win w;
    win_make(&w, pl[2]);
    int all[64], x;
    MPI_Win_fence(0, w.win);

    int *one = int1(o, 1), *res = int1(r, VT_MARK);
    MPI_Fetch_and_op(one, res, MPI_INT, 0, 48, MPI_SUM, w.win);
    MPI_Win_fence(0, w.win);
    x = host_int(res);
    MPI_Allgather(&x, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    for (int k = 0; k < np; k++)
        VT_ASSERT(count_eq(all, init_val(0, 48) + k) == 1, "[%s] Fetch_and_op: %d ranks fetched %d", pl, count_eq(all, init_val(0, 48) + k),
                  init_val(0, 48) + k);
    if (me == 0) w.exp[48] += np;

    int *swap = int1(o, 5000 + me), *cmp = int1(o, init_val(0, 50)), *res2 = int1(r, VT_MARK);
    MPI_Compare_and_swap(swap, cmp, res2, MPI_INT, 0, 50, w.win);
    MPI_Win_fence(0, w.win);
    x = host_int(res2);
    MPI_Allgather(&x, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    int winner = -1;
    for (int k = 0; k < np; k++)
        if (all[k] == init_val(0, 50)) winner = k;
    VT_ASSERT(count_eq(all, init_val(0, 50)) == 1, "[%s] Compare_and_swap: %d ranks saw the initial value", pl, count_eq(all, init_val(0, 50)));
    if (winner >= 0) {
        VT_ASSERT(count_eq(all, 5000 + winner) == np - 1, "[%s] Compare_and_swap: losers must see the winner's value", pl);
        if (me == 0) w.exp[50] = 5000 + winner;
    }

    int *add = int1(o, me + 1), *res3 = int1(r, VT_MARK);
    MPI_Get_accumulate(add, 1, MPI_INT, res3, 1, MPI_INT, 0, 52, 1, MPI_INT, MPI_SUM, w.win);
    int *swp = int1(o, 500 + me), *res4 = int1(r, VT_MARK);
    MPI_Get_accumulate(swp, 1, MPI_INT, res4, 1, MPI_INT, right, 54, 1, MPI_INT, MPI_REPLACE, w.win);
    MPI_Win_fence(0, w.win);
    x = host_int(res3);
    MPI_Allgather(&x, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    VT_ASSERT(count_eq(all, init_val(0, 52)) == 1, "[%s] Get_accumulate SUM: one rank must fetch the initial value", pl);
    if (me == 0) w.exp[52] += np * (np + 1) / 2;
    x = init_val(right, 54);
    check_ints(pl, "Get_accumulate REPLACE: fetched value", res4, &x, 1);
    w.exp[54] = 500 + left;

    /* MPI_NO_OP: an atomic read; the origin buffer is not significant */
    int *res5 = int1(r, VT_MARK), *res6 = int1(r, VT_MARK);
    MPI_Get_accumulate(NULL, 0, MPI_INT, res5, 1, MPI_INT, 0, 52, 1, MPI_INT, MPI_NO_OP, w.win);
    MPI_Fetch_and_op(NULL, res6, MPI_INT, 0, 48, MPI_NO_OP, w.win);
    MPI_Win_fence(0, w.win);
    x = init_val(0, 52) + np * (np + 1) / 2;
    check_ints(pl, "Get_accumulate NO_OP", res5, &x, 1);
    x = init_val(0, 48) + np;
    check_ints(pl, "Fetch_and_op NO_OP", res6, &x, 1);
    win_check(pl, "atomics: window", &w);
    MPI_Win_fence(MPI_MODE_NOSUCCEED, w.win);

    win_free(&w);
    vt_free(one), vt_free(res), vt_free(swap), vt_free(cmp), vt_free(res2), vt_free(add), vt_free(res3), vt_free(swp);
    vt_free(res4), vt_free(res5), vt_free(res6);
}

/* ---------------------------------------------------------------------------------------------- */
/* Post/start/complete/wait on a ring: each rank accesses its right neighbour, exposes to its left. */
static void test_pscw(const char *pl) {
    char o = pl[0], r = pl[1];
    struct win w;
    win_make(&w, pl[2]);
    MPI_Group to = group_of(right), from = group_of(left);
    int v[8], e[8];
    for (int round = 0; round < 2; round++) {
        /* local stores before MPI_Win_post are what the accessing rank reads */
        int mine[4];
        for (int k = 0; k < 4; k++) mine[k] = -(me * 10 + k + round * 100);
        put_ints(w.mem, 60, mine, 4);
        memcpy(&w.exp[60], mine, sizeof mine);

        MPI_Win_post(from, 0, w.win);
        MPI_Win_start(to, 0, w.win);
        for (int k = 0; k < 8; k++) v[k] = me * 100 + k + round;
        int *origin = ints(o, 8, v);
        MPI_Put(origin, 8, MPI_INT, right, 0, 8, MPI_INT, w.win);
        int *result = ints(r, 4, NULL);
        MPI_Get(result, 4, MPI_INT, right, 60, 4, MPI_INT, w.win);
        int *accb = ints(o, 2, (int[]){me + 1, me + 2});
        MPI_Accumulate(accb, 2, MPI_INT, right, 32, 2, MPI_INT, MPI_SUM, w.win);
        int *fres = int1(r, VT_MARK);
        MPI_Fetch_and_op(accb, fres, MPI_INT, right, 36, MPI_SUM, w.win);
        MPI_Win_complete(w.win);
        for (int k = 0; k < 4; k++) e[k] = -(right * 10 + k + round * 100);
        check_ints(pl, "pscw: MPI_Get result after MPI_Win_complete", result, e, 4);
        e[0] = init_val(right, 36) + round * (me + 1);
        check_ints(pl, "pscw: MPI_Fetch_and_op result after MPI_Win_complete", fres, e, 1);
        MPI_Win_wait(w.win);
        for (int k = 0; k < 8; k++) w.exp[k] = left * 100 + k + round;
        w.exp[32] += left + 1;
        w.exp[33] += left + 2;
        w.exp[36] += left + 1;
        win_check(pl, "pscw: window after MPI_Win_wait", &w);
        vt_free(origin), vt_free(result), vt_free(accb), vt_free(fres);
    }
    /* MPI_Win_test ends the exposure epoch too */
    MPI_Win_post(from, 0, w.win);
    MPI_Win_start(to, 0, w.win);
    int *one = ints(o, 1, (int[]){7});
    MPI_Put(one, 1, MPI_INT, right, 2, 1, MPI_INT, w.win);
    MPI_Win_complete(w.win);
    int flag = 0;
    while (!flag) MPI_Win_test(w.win, &flag);
    w.exp[2] = 7;
    win_check(pl, "pscw: window after MPI_Win_test", &w);
    vt_free(one);
    MPI_Group_free(&to);
    MPI_Group_free(&from);
    win_free(&w);
}

/* ---------------------------------------------------------------------------------------------- */
/* Passive target: lock/unlock, lock_all with flush, flush_local, Win_sync. */
static void test_passive(const char *pl) {
    char o = pl[0], r = pl[1];
    struct win w;
    win_make(&w, pl[2]);
    int v[8], e[8];
    for (int k = 0; k < 8; k++) v[k] = me * 100 + k;

    /* lock/unlock of the neighbour */
    int *origin = ints(o, 8, v), *result = ints(r, 8, NULL), *accb = ints(o, 4, (int[]){me + 1, me + 1, me + 1, me + 1});
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, right, 0, w.win);
    MPI_Put(origin, 8, MPI_INT, right, 0, 8, MPI_INT, w.win);
    MPI_Get(result, 8, MPI_INT, right, 16, 8, MPI_INT, w.win);
    MPI_Accumulate(accb, 4, MPI_INT, right, 32, 4, MPI_INT, MPI_SUM, w.win);
    MPI_Win_unlock(right, w.win);
    for (int k = 0; k < 8; k++) e[k] = init_val(right, 16 + k);
    check_ints(pl, "lock: MPI_Get result after MPI_Win_unlock", result, e, 8);
    for (int k = 0; k < 8; k++) w.exp[k] = left * 100 + k;
    for (int k = 32; k < 36; k++) w.exp[k] += left + 1;
    MPI_Barrier(MPI_COMM_WORLD);
    /* the owner sees the updates after locking its own window */
    MPI_Win_lock(MPI_LOCK_SHARED, me, 0, w.win);
    win_check(pl, "lock: own window under its own lock", &w);
    MPI_Win_unlock(me, w.win);

    /* the owner's stores inside its own exclusive lock become public at unlock */
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, me, 0, w.win);
    int mine[4] = {me + 11, me + 12, me + 13, me + 14};
    put_ints(w.mem, 44, mine, 4);
    memcpy(&w.exp[44], mine, sizeof mine);
    MPI_Win_unlock(me, w.win);
    MPI_Barrier(MPI_COMM_WORLD);
    int *res4 = ints(r, 4, NULL);
    MPI_Win_lock(MPI_LOCK_SHARED, right, 0, w.win);
    MPI_Get(res4, 4, MPI_INT, right, 44, 4, MPI_INT, w.win);
    MPI_Win_unlock(right, w.win);
    for (int k = 0; k < 4; k++) e[k] = right + 11 + k;
    check_ints(pl, "lock: MPI_Get of stores made under the target's own lock", res4, e, 4);
    MPI_Barrier(MPI_COMM_WORLD);

    /* lock_all with flush, flush_local and flush_all */
    MPI_Win_lock_all(0, w.win);
    int *one = int1(o, 1), *fres = int1(r, VT_MARK);
    MPI_Fetch_and_op(one, fres, MPI_INT, 0, 48, MPI_SUM, w.win);
    MPI_Win_flush(0, w.win);
    int x = host_int(fres);
    VT_ASSERT(x >= init_val(0, 48) && x < init_val(0, 48) + np, "[%s] lock_all: Fetch_and_op fetched %d after MPI_Win_flush", pl, x);
    int *res2 = ints(r, 8, NULL);
    MPI_Get(res2, 8, MPI_INT, right, 16, 8, MPI_INT, w.win);
    MPI_Win_flush_local(right, w.win);
    for (int k = 0; k < 8; k++) e[k] = init_val(right, 16 + k);
    check_ints(pl, "lock_all: MPI_Get result after MPI_Win_flush_local", res2, e, 8);
    MPI_Accumulate(accb, 4, MPI_INT, 0, 24, 4, MPI_INT, MPI_SUM, w.win);
    MPI_Put(origin, 4, MPI_INT, right, 8, 4, MPI_INT, w.win);
    int *res3 = ints(r, 2, NULL);
    MPI_Get(res3, 2, MPI_INT, left, 40, 2, MPI_INT, w.win);
    MPI_Win_flush_all(w.win);
    e[0] = init_val(left, 40), e[1] = init_val(left, 41);
    check_ints(pl, "lock_all: MPI_Get result after MPI_Win_flush_all", res3, e, 2);
    int *res5 = ints(r, 2, NULL);
    MPI_Get(res5, 2, MPI_INT, left, 42, 2, MPI_INT, w.win);
    MPI_Win_flush_local_all(w.win);
    e[0] = init_val(left, 42), e[1] = init_val(left, 43);
    check_ints(pl, "lock_all: MPI_Get result after MPI_Win_flush_local_all", res5, e, 2);
    MPI_Barrier(MPI_COMM_WORLD);
    /* MPI_Win_sync makes the updates visible to the owner inside the epoch */
    MPI_Win_sync(w.win);
    for (int k = 0; k < 4; k++) w.exp[8 + k] = left * 100 + k;
    if (me == 0) {
        w.exp[48] += np;
        for (int k = 24; k < 28; k++) w.exp[k] += np * (np + 1) / 2;
    }
    win_check(pl, "lock_all: own window after MPI_Win_sync", &w);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_unlock_all(w.win);

    /* compare-and-swap under an exclusive lock */
    int *swap = int1(o, 9000 + me), *cmp = int1(o, init_val(0, 50)), *cres = int1(r, VT_MARK), all[64];
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, w.win);
    MPI_Compare_and_swap(swap, cmp, cres, MPI_INT, 0, 50, w.win);
    MPI_Win_unlock(0, w.win);
    x = host_int(cres);
    MPI_Allgather(&x, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    VT_ASSERT(count_eq(all, init_val(0, 50)) == 1, "[%s] lock: Compare_and_swap: %d ranks saw the initial value", pl, count_eq(all, init_val(0, 50)));
    for (int k = 0; k < np; k++)
        if (all[k] == init_val(0, 50) && me == 0) w.exp[50] = 9000 + k;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock(MPI_LOCK_SHARED, me, 0, w.win);
    win_check(pl, "lock: own window at the end", &w);
    MPI_Win_unlock(me, w.win);

    win_free(&w);
    vt_free(origin), vt_free(result), vt_free(accb), vt_free(res4), vt_free(one), vt_free(fres), vt_free(res2);
    vt_free(res3), vt_free(res5), vt_free(swap), vt_free(cmp), vt_free(cres);
}

/* ---------------------------------------------------------------------------------------------- */
/* Request-based operations completed by MPI_Waitall and MPI_Wait. */
static void test_rforms(const char *pl) {
    char o = pl[0], r = pl[1];
    struct win w;
    win_make(&w, pl[2]);
    int v[8], e[8];
    for (int k = 0; k < 8; k++) v[k] = me * 100 + k;
    int *origin = ints(o, 8, v), *result = ints(r, 8, NULL), *accb = ints(o, 2, (int[]){me + 1, me + 1});
    int *one = int1(o, 1), *gres = int1(r, VT_MARK);
    MPI_Request req[4];
    MPI_Win_lock_all(0, w.win);
    MPI_Rput(origin, 8, MPI_INT, right, 0, 8, MPI_INT, w.win, &req[0]);
    MPI_Rget(result, 8, MPI_INT, right, 16, 8, MPI_INT, w.win, &req[1]);
    MPI_Raccumulate(accb, 2, MPI_INT, 0, 32, 2, MPI_INT, MPI_SUM, w.win, &req[2]);
    MPI_Rget_accumulate(one, 1, MPI_INT, gres, 1, MPI_INT, 0, 48, 1, MPI_INT, MPI_SUM, w.win, &req[3]);
    MPI_Status st[4];
    MPI_Waitall(4, req, st);
    for (int k = 0; k < 8; k++) e[k] = init_val(right, 16 + k);
    check_ints(pl, "MPI_Rget result after MPI_Waitall", result, e, 8);
    int x = host_int(gres);
    VT_ASSERT(x >= init_val(0, 48) && x < init_val(0, 48) + np, "[%s] MPI_Rget_accumulate fetched %d", pl, x);
    MPI_Win_flush_all(w.win);

    int *res2 = ints(r, 4, NULL);
    MPI_Rget(res2, 4, MPI_INT, left, 20, 4, MPI_INT, w.win, &req[0]);
    MPI_Wait(&req[0], MPI_STATUS_IGNORE);
    for (int k = 0; k < 4; k++) e[k] = init_val(left, 20 + k);
    check_ints(pl, "MPI_Rget result after MPI_Wait", res2, e, 4);

    /* A freed request with a VE result buffer: the data arrives at the end of the epoch at the latest.
     * (MPICH refuses MPI_Request_free of RMA requests; for staged ones libmpive finishes them itself.) */
    if (r == 'v') {
        int *res3 = ints(r, 4, NULL);
        MPI_Rget(res3, 4, MPI_INT, right, 4, 4, MPI_INT, w.win, &req[0]);
        MPI_Request_free(&req[0]);
        MPI_Win_unlock_all(w.win);
        for (int k = 0; k < 4; k++) e[k] = me * 100 + 4 + k; /* what my MPI_Rput above put there */
        check_ints(pl, "MPI_Rget result after MPI_Request_free and MPI_Win_unlock_all", res3, e, 4);
        vt_free(res3);
    } else {
        MPI_Win_unlock_all(w.win);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    for (int k = 0; k < 8; k++) w.exp[k] = left * 100 + k;
    if (me == 0) {
        w.exp[32] += np * (np + 1) / 2;
        w.exp[33] += np * (np + 1) / 2;
        w.exp[48] += np;
    }
    MPI_Win_lock(MPI_LOCK_SHARED, me, 0, w.win);
    win_check(pl, "R-forms: own window", &w);
    MPI_Win_unlock(me, w.win);
    win_free(&w);
    vt_free(origin), vt_free(result), vt_free(accb), vt_free(one), vt_free(gres), vt_free(res2);
}

/* ---------------------------------------------------------------------------------------------- */
/* Window attributes, MPI_Win_allocate (forwarded) with VE origins, and MPI_Win_attach. */
static void test_attr(void) {
    for (int p = 0; p < 2; p++) {
        char place = "hv"[p];
        struct win w;
        win_make(&w, place);
        void *base = NULL;
        int *model = NULL, *disp = NULL, *flavor = NULL, flag = 0;
        MPI_Aint *size = NULL;
        MPI_Win_get_attr(w.win, MPI_WIN_BASE, &base, &flag);
        VT_ASSERT(flag && base == w.mem, "[%c] MPI_WIN_BASE is %p, the window memory is %p", place, base, (void *)w.mem);
        MPI_Win_get_attr(w.win, MPI_WIN_MODEL, &model, &flag);
        VT_ASSERT(flag && model, "[%c] MPI_WIN_MODEL missing", place);
        if (place == 'v' && model) VT_ASSERT(*model == MPI_WIN_SEPARATE, "[v] MPI_WIN_MODEL is %d, expected MPI_WIN_SEPARATE", *model);
        if (place == 'h' && model)
            VT_ASSERT(*model == MPI_WIN_SEPARATE || *model == MPI_WIN_UNIFIED, "[h] MPI_WIN_MODEL is %d", *model);
        MPI_Win_get_attr(w.win, MPI_WIN_SIZE, &size, &flag);
        VT_ASSERT(flag && size && *size == N * (MPI_Aint)sizeof(int), "[%c] MPI_WIN_SIZE", place);
        MPI_Win_get_attr(w.win, MPI_WIN_DISP_UNIT, &disp, &flag);
        VT_ASSERT(flag && disp && *disp == (int)sizeof(int), "[%c] MPI_WIN_DISP_UNIT", place);
        MPI_Win_get_attr(w.win, MPI_WIN_CREATE_FLAVOR, &flavor, &flag);
        VT_ASSERT(flag && flavor && *flavor == MPI_WIN_FLAVOR_CREATE, "[%c] MPI_WIN_CREATE_FLAVOR", place);
        win_free(&w);
    }

    /* MPI_Win_allocate is host memory: forwarded, and VE origins work with it */
    int *wmem = NULL;
    MPI_Win awin;
    MPI_Win_allocate(N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &wmem, &awin);
    for (int i = 0; i < N; i++) wmem[i] = init_val(me, i);
    int v[4] = {me, me + 1, me + 2, me + 3}, e[4];
    int *origin = ints('v', 4, v), *result = ints('v', 4, NULL);
    MPI_Win_fence(0, awin);
    MPI_Put(origin, 4, MPI_INT, right, 0, 4, MPI_INT, awin);
    MPI_Get(result, 4, MPI_INT, right, 8, 4, MPI_INT, awin);
    MPI_Win_fence(0, awin);
    for (int k = 0; k < 4; k++) e[k] = init_val(right, 8 + k);
    check_ints("vvh", "MPI_Win_allocate: MPI_Get result", result, e, 4);
    for (int k = 0; k < 4; k++) e[k] = left + k;
    check_ints("vvh", "MPI_Win_allocate: window", wmem, e, 4);
    MPI_Win_free(&awin);
    vt_free(origin), vt_free(result);

    /* dynamic windows: host memory attaches, VE memory is refused through the window's handler */
    MPI_Win dwin;
    MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &dwin);
    MPI_Win_set_errhandler(dwin, MPI_ERRORS_RETURN);
    void *ve = vt_make('v', 256, 3), *host = malloc(256);
    char msg[MPI_MAX_ERROR_STRING + 1] = "";
    int len = 0, cls = -1;
    int rc = MPI_Win_attach(dwin, ve, 256);
    MPI_Error_class(rc, &cls);
    MPI_Error_string(rc, msg, &len);
    VT_ASSERT(rc != MPI_SUCCESS && cls == MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Win_attach of VE memory: rc %d class %d", rc, cls);
    VT_ASSERT(strstr(msg, "MPI_Win_attach") && strstr(msg, "MPI_Win_create"), "MPI_Win_attach: message \"%s\"", msg);
    rc = MPI_Win_detach(dwin, ve);
    MPI_Error_class(rc, &cls);
    VT_ASSERT(rc != MPI_SUCCESS && cls == MPI_ERR_UNSUPPORTED_OPERATION, "MPI_Win_detach of VE memory: rc %d class %d", rc, cls);
    VT_ASSERT(MPI_Win_attach(dwin, host, 256) == MPI_SUCCESS, "MPI_Win_attach of host memory");
    VT_ASSERT(MPI_Win_detach(dwin, host) == MPI_SUCCESS, "MPI_Win_detach of host memory");
    MPI_Win_free(&dwin);
    vt_free(ve);
    free(host);
}

/* ---------------------------------------------------------------------------------------------- */
/* Errors go through the window's error handler and name the call. */
static int handler_calls, handler_class;
static void win_handler(MPI_Win *win, int *code, ...) {
    (void)win;
    handler_calls++;
    MPI_Error_class(*code, &handler_class);
}


static void test_errors(void) {
    struct win w;
    win_make(&w, 'v');
    MPI_Win_set_errhandler(w.win, MPI_ERRORS_RETURN);
    void *bad = vt_fake_ve(); /* no allocation covers it */
    int *ok = ints('v', 4, NULL);
    MPI_Win_fence(0, w.win);
    vt_expect_error("MPI_Put from unallocated VE memory", MPI_Put(bad, 4, MPI_INT, right, 0, 4, MPI_INT, w.win), MPI_ERR_BUFFER, "MPI_Put");
    vt_expect_error("MPI_Get with a negative count", MPI_Get(ok, -1, MPI_INT, right, 0, 1, MPI_INT, w.win), MPI_ERR_COUNT, "MPI_Get");
    vt_expect_error("MPI_Compare_and_swap with an unallocated compare buffer",
                 MPI_Compare_and_swap(ok, bad, ok, MPI_INT, right, 0, w.win), MPI_ERR_BUFFER, "MPI_Compare_and_swap");
    MPI_Request req;
    vt_expect_error("MPI_Rput from unallocated VE memory", MPI_Rput(bad, 4, MPI_INT, right, 0, 4, MPI_INT, w.win, &req), MPI_ERR_BUFFER,
                 "MPI_Rput");
    MPI_Win_fence(0, w.win);

    /* a user-defined handler on the window is called with the shim's error */
    MPI_Errhandler eh;
    MPI_Win_create_errhandler(win_handler, &eh);
    MPI_Win_set_errhandler(w.win, eh);
    MPI_Win_fence(0, w.win);
    int rc = MPI_Accumulate(bad, 1, MPI_INT, right, 0, 1, MPI_INT, MPI_SUM, w.win);
    MPI_Win_fence(0, w.win);
    VT_ASSERT(rc != MPI_SUCCESS && handler_calls == 1 && handler_class == MPI_ERR_BUFFER, "user handler: rc %d, %d calls, class %d", rc,
              handler_calls, handler_class);
    MPI_Errhandler_free(&eh);
    win_check("vvv", "window untouched by the failed calls", &w);
    win_free(&w);
    vt_free(ok);
}

/* ---------------------------------------------------------------------------------------------- */
/* The MPI-4 large-count forms, where the MPI has them. */
static void test_largecount(void) {
#if MPI_VERSION >= 4
    for (int p = 0; p < 2; p++) {
        char place = "hv"[p];
        struct win w;
        for (int i = 0; i < N; i++) w.exp[i] = init_val(me, i);
        w.mem = ints(place, N, w.exp);
        MPI_Win_create_c(w.mem, N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &w.win);
        int v[8], e[8];
        for (int k = 0; k < 8; k++) v[k] = me * 100 + k;
        int *origin = ints('v', 8, v), *result = ints('v', 8, NULL), *gres = ints('v', 2, NULL), *acc = ints('v', 2, (int[]){1, 2});
        MPI_Win_fence(0, w.win);
        MPI_Put_c(origin, 8, MPI_INT, right, 0, 8, MPI_INT, w.win);
        MPI_Get_c(result, 8, MPI_INT, right, 16, 8, MPI_INT, w.win);
        MPI_Accumulate_c(acc, 2, MPI_INT, right, 32, 2, MPI_INT, MPI_SUM, w.win);
        MPI_Get_accumulate_c(acc, 2, MPI_INT, gres, 2, MPI_INT, right, 40, 2, MPI_INT, MPI_REPLACE, w.win);
        MPI_Win_fence(0, w.win);
        for (int k = 0; k < 8; k++) e[k] = init_val(right, 16 + k), w.exp[k] = left * 100 + k;
        check_ints(place == 'v' ? "vvv" : "vvh", "MPI_Get_c result", result, e, 8);
        e[0] = init_val(right, 40), e[1] = init_val(right, 41);
        check_ints(place == 'v' ? "vvv" : "vvh", "MPI_Get_accumulate_c result", gres, e, 2);
        w.exp[32] += 1, w.exp[33] += 2, w.exp[40] = 1, w.exp[41] = 2;
        win_check(place == 'v' ? "vvv" : "vvh", "large-count window (MPI_Win_create_c)", &w);
        MPI_Barrier(MPI_COMM_WORLD);

        MPI_Request req[4];
        MPI_Status st[4];
        MPI_Win_lock_all(0, w.win);
        MPI_Rput_c(origin, 4, MPI_INT, left, 8, 4, MPI_INT, w.win, &req[0]);
        MPI_Rget_c(result, 4, MPI_INT, left, 20, 4, MPI_INT, w.win, &req[1]);
        MPI_Raccumulate_c(acc, 2, MPI_INT, left, 34, 2, MPI_INT, MPI_SUM, w.win, &req[2]);
        MPI_Rget_accumulate_c(NULL, 0, MPI_INT, gres, 2, MPI_INT, left, 16, 2, MPI_INT, MPI_NO_OP, w.win, &req[3]);
        MPI_Waitall(4, req, st);
        for (int k = 0; k < 4; k++) e[k] = init_val(left, 20 + k);
        check_ints(place == 'v' ? "vvv" : "vvh", "MPI_Rget_c result", result, e, 4);
        e[0] = init_val(left, 16), e[1] = init_val(left, 17);
        check_ints(place == 'v' ? "vvv" : "vvh", "MPI_Rget_accumulate_c result", gres, e, 2);
        MPI_Win_unlock_all(w.win);
        MPI_Barrier(MPI_COMM_WORLD);
        for (int k = 0; k < 4; k++) w.exp[8 + k] = right * 100 + k;
        w.exp[34] += 1, w.exp[35] += 2;
        MPI_Win_lock(MPI_LOCK_SHARED, me, 0, w.win);
        win_check(place == 'v' ? "vvv" : "vvh", "large-count window after R-forms", &w);
        MPI_Win_unlock(me, w.win);
        win_free(&w);
        vt_free(origin), vt_free(result), vt_free(gres), vt_free(acc);
    }
#else
    VT_ASSERT(1, "no large-count functions in MPI %d.%d", MPI_VERSION, MPI_SUBVERSION);
#endif
}

/* Every staging buffer is back in the pool once the windows are freed and the operations complete. */
static void check_released(const char *what) {
    int (*stats)(struct mpive_stats_t *) = (int (*)(struct mpive_stats_t *))dlsym(RTLD_DEFAULT, "mpive_stats");
    struct mpive_stats_t st;
    if (!stats || stats(&st) != 0) return; /* not running under libmpive */
    VT_ASSERT(st.live_buffers == 0, "after %s: %llu staging buffers still lent out", what, (unsigned long long)st.live_buffers);
}

/* MPI_Win_attach of VE memory under MPI_ERRORS_ARE_FATAL: does not return. */
static void test_fatal(void) {
    MPI_Win dwin;
    MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &dwin);
    void *ve = vt_make('v', 64, 1);
    MPI_Win_attach(dwin, ve, 64);
    fprintf(stderr, "rank %d: MPI_Win_attach returned under MPI_ERRORS_ARE_FATAL\n", me);
    MPI_Win_free(&dwin);
}

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    me = vt_rank, np = vt_size, right = (me + 1) % np, left = (me + np - 1) % np;
    const char *host_only = getenv("VT_HOST_ONLY");
    int nplace = host_only && *host_only == '1' ? 1 : NPLACE; /* placements[0] is "hhh" */
    const char *all[] = {"fence", "atomics", "pscw", "passive", "rforms", "attr", "errors", "largecount"};
    int nsec = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof *all);
    for (int s = 0; s < nsec; s++) {
        const char *sec = argc > 1 ? argv[s + 1] : all[s];
        if (!strcmp(sec, "fatal")) test_fatal();
        else if (!strcmp(sec, "attr")) test_attr();
        else if (!strcmp(sec, "largecount")) test_largecount();
        else if (!strcmp(sec, "errors")) test_errors();
        else
            for (int p = 0; p < nplace; p++) {
                if (!strcmp(sec, "fence")) test_fence(placements[p]);
                else if (!strcmp(sec, "atomics")) test_atomics(placements[p]);
                else if (!strcmp(sec, "pscw")) test_pscw(placements[p]);
                else if (!strcmp(sec, "passive")) test_passive(placements[p]);
                else if (!strcmp(sec, "rforms")) test_rforms(placements[p]);
                else {
                    if (me == 0) fprintf(stderr, "unknown section %s\n", sec);
                    MPI_Abort(MPI_COMM_WORLD, 2);
                }
                check_released(sec);
            }
        check_released(sec);
    }
    return vt_finish("rma");
}
