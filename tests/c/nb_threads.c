/*
 * MPI_THREAD_MULTIPLE: 4 threads per rank exchange VE buffers around the ring at the same time, each on
 * its own communicator, with nonblocking and persistent requests, host requests mixed in (so VE and
 * host requests of different threads get each other's recycled handles), sends freed while active,
 * and every completion form. Each thread checks its data byte for byte; after MPI_Finalize every
 * staging buffer must be back (mpive_stats: live_buffers and pending_requests 0).
 */
#include <pthread.h>
#include "vetest.h"
#include "nb_util.h"

#define THREADS 4
#define ITERS 60

static MPI_Comm comms[THREADS];
static int next_rank, prev_rank;

struct tstate {
    int t, checks, failures;
};

#define TCHECK(ts, cond, ...)                                                        \
    do {                                                                             \
        (ts)->checks++;                                                              \
        if (!(cond)) {                                                               \
            fprintf(stderr, "FAIL rank %d thread %d: ", vt_rank, (ts)->t);           \
            fprintf(stderr, __VA_ARGS__);                                            \
            fprintf(stderr, "\n");                                                   \
            (ts)->failures++;                                                        \
        }                                                                            \
    } while (0)

static unsigned seed_of(int rank, int t, int it, int k) {
    return 1 + rank * 100003u + t * 10007u + it * 101u + k;
}

static void tcheck_bytes(struct tstate *ts, const char *what, int it, const void *buf, const unsigned char *e, size_t n) {
    unsigned char *got = malloc(n ? n : 1);
    vt_get(got, buf, n);
    size_t i = 0;
    while (i < n && got[i] == e[i]) i++;
    TCHECK(ts, i == n, "%s, iteration %d: byte %zu of %zu is 0x%02x, expected 0x%02x", what, it, i, n, i < n ? got[i] : 0,
           i < n ? e[i] : 0);
    free(got);
}

/* Completes n requests with form `mode` (statuses land at each request's index). */
static void complete(struct tstate *ts, int mode, int n, MPI_Request *r, MPI_Status *st) {
    int left = 0, flag, idx, out, ids[8];
    MPI_Status tmp[8];
    for (int i = 0; i < n; i++) left += r[i] != MPI_REQUEST_NULL;
    switch (mode) {
    case 0: MPI_Waitall(n, r, st); break;
    case 1:
        for (int i = 0; i < n; i++) MPI_Wait(&r[i], &st[i]);
        break;
    case 2:
    case 3:
        while (left) {
            MPI_Status one;
            if (mode == 2) {
                MPI_Waitany(n, r, &idx, &one);
                flag = 1;
            } else {
                MPI_Testany(n, r, &idx, &flag, &one);
            }
            if (!flag) continue;
            TCHECK(ts, idx >= 0 && idx < n, "any: index %d", idx);
            if (idx < 0 || idx >= n) return;
            st[idx] = one;
            left--;
        }
        break;
    case 4:
    case 5:
        while (left) {
            if (mode == 4)
                MPI_Waitsome(n, r, &out, ids, tmp);
            else
                MPI_Testsome(n, r, &out, ids, tmp);
            TCHECK(ts, out >= 0 && out <= left, "some: outcount %d of %d", out, left);
            if (out < 0 || out > left) return;
            for (int k = 0; k < out; k++) st[ids[k]] = tmp[k];
            left -= out;
        }
        break;
    case 6:
        while (MPI_Testall(n, r, &flag, st), !flag) sched_yield();
        break;
    default:
        for (int i = 0; i < n; i++) {
            while (MPI_Request_get_status(r[i], &flag, &st[i]), !flag) sched_yield();
            MPI_Wait(&r[i], MPI_STATUS_IGNORE);
        }
    }
}

static void *worker(void *arg) {
    struct tstate *ts = arg;
    int t = ts->t;
    MPI_Comm comm = comms[t];
    const int maxn = 3000;
    const size_t cap = (maxn + 8) * sizeof(int);
    void *vr = vt_alloc('v', cap), *vs = vt_alloc('v', cap), *pr = vt_alloc('v', cap), *ps = vt_alloc('v', cap);
    void *fr = vt_alloc('v', cap), *fs = vt_alloc('v', cap);
    int *hr = malloc(cap), *hs = malloc(cap);
    unsigned char *e = malloc(cap), *tmp = malloc(cap);
    const int pn = 1000 + 37 * t; /* the persistent pair's count */
    MPI_Request preq[2];
    MPI_Recv_init(pr, pn + 8, MPI_INT, prev_rank, 1, comm, &preq[0]);
    MPI_Send_init(ps, pn, MPI_INT, next_rank, 1, comm, &preq[1]);
    for (int it = 0; it < ITERS; it++) {
        int n = 1 + (it * 389 + t * 97) % maxn, mode = (it + t) % 8, persistent = it % 3 == 2;
        MPI_Request r[5];
        MPI_Status st[5];
        int nr = 4;
        memset(e, VT_MARK, cap);
        vt_put(persistent ? pr : vr, e, cap);
        vt_pattern(tmp, cap, seed_of(vt_rank, t, it, 0));
        vt_put(persistent ? ps : vs, tmp, cap);
        for (int i = 0; i < n; i++) hs[i] = (int)seed_of(vt_rank, t, it, i);
        if (persistent) {
            r[0] = preq[0];
            r[1] = preq[1];
            MPI_Startall(2, preq);
        } else {
            MPI_Irecv(vr, n + 8, MPI_INT, prev_rank, 1, comm, &r[0]);
            MPI_Isend(vs, n, MPI_INT, next_rank, 1, comm, &r[1]);
        }
        MPI_Irecv(hr, n, MPI_INT, prev_rank, 2, comm, &r[2]);
        MPI_Isend(hs, n, MPI_INT, next_rank, 2, comm, &r[3]);
        if (it % 5 == 4) {
            /* a send freed while active, and its receive */
            MPI_Request f;
            vt_pattern(tmp, 512, seed_of(vt_rank, t, it, 9));
            vt_put(fs, tmp, 512);
            MPI_Isend(fs, 128, MPI_INT, next_rank, 3, comm, &f);
            MPI_Request_free(&f);
            MPI_Irecv(fr, 128, MPI_INT, prev_rank, 3, comm, &r[4]);
            nr = 5;
        }
        for (int i = 0; i < 5; i++) st[i].MPI_SOURCE = -1;
        complete(ts, mode, nr, r, st);
        if (persistent) TCHECK(ts, r[0] == preq[0] && r[1] == preq[1], "persistent requests freed by completion");
        /* check */
        {
            int got = -1, m = persistent ? pn : n;
            memset(e, VT_MARK, cap);
            vt_pattern(e, m * sizeof(int), seed_of(prev_rank, t, it, 0));
            tcheck_bytes(ts, persistent ? "persistent VE receive" : "VE receive", it, persistent ? pr : vr, e, cap);
            MPI_Get_count(&st[0], MPI_INT, &got);
            TCHECK(ts, got == m && st[0].MPI_SOURCE == prev_rank && st[0].MPI_TAG == 1, "mode %d: status count %d source %d tag %d",
                   mode, got, st[0].MPI_SOURCE, st[0].MPI_TAG);
            for (int i = 0; i < n; i++)
                if (hr[i] != (int)seed_of(prev_rank, t, it, i)) {
                    TCHECK(ts, 0, "host receive, iteration %d: element %d", it, i);
                    break;
                }
            if (nr == 5) {
                vt_pattern(e, 512, seed_of(prev_rank, t, it, 9));
                tcheck_bytes(ts, "receive of a freed VE send", it, fr, e, 512);
            }
        }
    }
    MPI_Request_free(&preq[0]);
    MPI_Request_free(&preq[1]);
    /* the freed sends' staging may still be out: the receives above prove the data left, and the
     * last barrier of main plus MPI_Finalize bring the buffers back */
    vt_free(vr);
    vt_free(vs);
    vt_free(pr);
    vt_free(ps);
    vt_free(fr);
    vt_free(fs);
    free(hr);
    free(hs);
    free(e);
    free(tmp);
    return NULL;
}

int main(int argc, char **argv) {
    int provided, fails = 0, checks = 0, total = 0, total_checks = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &vt_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &vt_size);
    if (provided < MPI_THREAD_MULTIPLE) {
        if (vt_rank == 0) printf("nb_threads: MPI_THREAD_MULTIPLE not provided (%d)\n", provided);
        MPI_Finalize();
        return 0;
    }
    vt_proc = veo_proc_create(0);
    next_rank = (vt_rank + 1) % vt_size;
    prev_rank = (vt_rank + vt_size - 1) % vt_size;
    for (int t = 0; t < THREADS; t++) MPI_Comm_dup(MPI_COMM_WORLD, &comms[t]);
    pthread_t th[THREADS];
    struct tstate ts[THREADS];
    for (int t = 0; t < THREADS; t++) {
        ts[t].t = t;
        ts[t].checks = ts[t].failures = 0;
        pthread_create(&th[t], NULL, worker, &ts[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        fails += ts[t].failures;
        checks += ts[t].checks;
    }
    for (int t = 0; t < THREADS; t++) MPI_Comm_free(&comms[t]);
    MPI_Allreduce(&fails, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&checks, &total_checks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (vt_rank == 0) printf("nb_threads: %d checks on %d ranks, %d failures\n", total_checks, vt_size, total);
    fflush(stdout);
    MPI_Finalize();
    {
        mpive_stats_t s = nb_stats();
        int ok = !nb_have_shim() || (s.live_buffers == 0 && s.pending_requests == 0);
        if (!ok)
            fprintf(stderr, "FAIL rank %d: after MPI_Finalize %llu staging buffers lent out, %llu requests pending\n", vt_rank,
                    (unsigned long long)s.live_buffers, (unsigned long long)s.pending_requests);
        printf("rank %d after MPI_Finalize: %s (%llu staged calls)\n", vt_rank, ok ? "ok" : "FAILED", (unsigned long long)s.staged_calls);
        total += !ok;
    }
    veo_proc_destroy(vt_proc);
    return total ? 1 : 0;
}
