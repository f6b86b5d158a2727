/*
 * mpive_bench: the side-by-side benchmark of libmpi-ve (driven by bench/run.py, see docs/performance.md).
 *
 * One run of this program on 2 ranks measures several *variants* of the same operation in the same
 * process, interleaved: for every repetition, for every message size, each variant runs one batch
 * (the order of the variants rotates from one repetition to the next). The driver takes the median
 * over repetitions of each variant, and the median of the per-repetition ratios, so that load on the
 * machine hits all variants alike and cancels in the ratios.
 *
 * Variants:
 *   host-pmpi   host buffers, PMPI_* entry points: exactly the code an application runs without the
 *               preload (MPI_X and PMPI_X are the same function in Open MPI and MPICH);
 *   host-shim   host buffers, MPI_* entry points, i.e. through libmpive when it is preloaded;
 *   ve          buffers in (simulated) VE memory, MPI_* entry points, pipelining off;
 *   ve-pipe     the same with pipelined staging (only when MPIVE_PIPELINE=1).
 *   vh-ve       rank 0 host buffers, rank 1 VE buffers (the VH<->VE one-way latency and bandwidth),
 *               MPI_* entry points, settings as configured (the defaults unless the run sets them).
 *   ve-def      VE buffers on both ranks, settings as configured.
 *
 * Tests: pingpong (one-way latency = round trip / 2), allreduce (MPI_DOUBLE, MPI_SUM), bcast (from rank 0,
 * acknowledged), multi (64
 * MPI_Isend + 64 MPI_Irecv in flight, then MPI_Waitall), pending (8-byte Isend/Irecv/Waitall ping-pong
 * while 10,000 host receives, and then also 4 VE receives, are pending), allocs (heap allocations
 * during 10,000 VE ping-pongs, counted by the malloc interposed below and by mpive_stats), halo (a 2-D
 * halo exchange of an (n+2) x (n+2) grid of doubles with the peer: 2 rows, contiguous, and 2 columns, an
 * MPI_Type_vector of n blocks; 4 MPI_Irecv + 4 MPI_Isend + MPI_Waitall per exchange; size = n).
 *
 * Output (rank 0, stdout): lines "D,test,variant,size,rep,microseconds", "C,test,variant,size,rank,
 * copies from VE,copies to VE,bytes from VE,bytes to VE,libveo ns from VE,libveo ns to VE,VE kernel calls,
 * ns in them" (per iteration of the test on that rank, from mpive_stats_sized, first repetition) and
 * "A,..." / "I,..." records.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ve_offload.h>

/* ---- counting malloc: the executable's definitions interpose for the whole process ---- */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static atomic_int counting;
static atomic_long mallocs;
#define COUNT() do { if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add_explicit(&mallocs, 1, memory_order_relaxed); } while (0)
void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { COUNT(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { COUNT(); return __libc_memalign(a, n); }
void *valloc(size_t n) { COUNT(); return __libc_memalign(4096, n); }
int posix_memalign(void **p, size_t a, size_t n) {
    COUNT();
    void *m = __libc_memalign(a, n);
    if (!m) return 12;
    *p = m;
    return 0;
}

/* ---- the two ways of calling MPI ---- */
typedef int (*send_f)(const void *, int, MPI_Datatype, int, int, MPI_Comm);
typedef int (*recv_f)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status *);
typedef int (*isend_f)(const void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
typedef int (*irecv_f)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
typedef int (*waitall_f)(int, MPI_Request *, MPI_Status *);
typedef int (*allreduce_f)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
struct api {
    send_f send;
    recv_f recv;
    isend_f isend;
    irecv_f irecv;
    waitall_f waitall;
    allreduce_f allreduce;
};
static const struct api API_MPI = {MPI_Send, MPI_Recv, MPI_Isend, MPI_Irecv, MPI_Waitall, MPI_Allreduce};
static const struct api API_PMPI = {PMPI_Send, PMPI_Recv, PMPI_Isend, PMPI_Irecv, PMPI_Waitall, PMPI_Allreduce};

/* ---- libmpive's C API, looked up at run time so that the program also runs without the preload ---- */
typedef struct {
    uint64_t v[32];
} stats_t;
static int (*p_stats_sized)(void *, size_t);
static int (*p_set_tunable)(const char *, uint64_t);
static int (*p_get_tunable)(const char *, uint64_t *);
static int shim_loaded, pipeline_mode;

enum { ST_STAGED, ST_COPIES, ST_COPIED, ST_LIVE, ST_POOL_ALLOCS, ST_POOL_CACHED, ST_PENDING, ST_HEAP_ALLOCS, ST_PIPELINED,
       ST_TEMP, ST_COPIES_FROM_VE, ST_BYTES_FROM_VE, ST_NS_FROM_VE, ST_COPIES_TO_VE, ST_BYTES_TO_VE, ST_NS_TO_VE,
       ST_VE_TO_VE, ST_BYTES_VE_TO_VE, ST_NS_VE_TO_VE, ST_KERNEL_CALLS, ST_NS_KERNEL };

static void stats(stats_t *s) {
    memset(s, 0, sizeof *s);
    if (p_stats_sized) p_stats_sized(s, sizeof *s);
}

static void set_tunable(const char *name, uint64_t v) {
    if (p_set_tunable && p_set_tunable(name, v) != 0) {
        fprintf(stderr, "mpive_bench: mpive_set_tunable(%s) failed\n", name);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
}

/* ---- buffers ---- */
static struct veo_proc_handle *proc;
static int rank, peer;

static void *alloc_place(char place, size_t n) {
    void *p = NULL;
    if (place == 'v') {
        if (veo_alloc_hmem(proc, &p, n) != 0) {
            fprintf(stderr, "mpive_bench: veo_alloc_hmem(%zu) failed\n", n);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        /* fill through the link: the pages of the simulated VE exist */
        char *tmp = __libc_malloc(1 << 20);
        memset(tmp, rank + 1, 1 << 20);
        for (size_t o = 0; o < n; o += 1 << 20) veo_hmemcpy((char *)p + o, tmp, n - o < (1 << 20) ? n - o : (1 << 20));
        __libc_free(tmp);
    } else {
        if (posix_memalign(&p, 4096, n) != 0) MPI_Abort(MPI_COMM_WORLD, 2);
        memset(p, rank + 1, n);
    }
    return p;
}

struct variant {
    const char *name;
    const struct api *api;
    char place;
    int pipe;          /* 1: pipelined sends on, 0: off, -1: leave as configured */
    uint64_t chunk;    /* pipeline_chunk for this variant (0: as configured) */
    uint64_t threshold; /* pipeline_threshold (0: as configured) */
};
static uint64_t cfg_chunk, cfg_threshold, cfg_send = 1;

static struct variant variants[16];
static int nvariants;
static int want_host_pmpi = 1;

struct bufs {
    char *s, *r;
};
static struct bufs hostb, veb;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double time_scale = 1.0;

/* Iterations of a batch: about `budget` microseconds per batch, from a rough cost model. */
static int iters_for(size_t bytes, double per_byte_us, double base_us, double budget_us, int lo, int hi) {
    double est = base_us + per_byte_us * (double)bytes;
    int n = (int)(budget_us * time_scale / est);
    if (n < lo) n = lo;
    if (n > hi) n = hi;
    return n;
}

static void use_variant(const struct variant *v) {
    if (pipeline_mode) set_tunable("pipeline_send", v->pipe >= 0 ? (uint64_t)v->pipe : cfg_send);
    if (pipeline_mode) {
        set_tunable("pipeline_chunk", v->chunk ? v->chunk : cfg_chunk);
        set_tunable("pipeline_threshold", v->threshold ? v->threshold : cfg_threshold);
    }
}

/* 'v': VE buffers, 'h': host buffers, 'm': host buffers on rank 0, VE buffers on rank 1 */
static struct bufs *bufs_of(const struct variant *v) { return v->place == 'v' || (v->place == 'm' && rank == 1) ? &veb : &hostb; }

/* --median: a ping-pong batch reports the median of its round trips instead of their mean, so that a
 * batch preempted by other processes on a loaded machine still shows the typical latency. */
static int pp_median;
#define MAX_ITERS 4096
static double rtt[MAX_ITERS];

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One batch of ping-pongs of `bytes`; returns microseconds per one-way message (rank 0). */
static double pingpong(const struct variant *v, size_t bytes, int iters) {
    const struct api *a = v->api;
    struct bufs *b = bufs_of(v);
    int n = (int)bytes;
    MPI_Comm c = MPI_COMM_WORLD;
    double t0 = 0, ti = 0;
    if (iters > MAX_ITERS) iters = MAX_ITERS;
    for (int i = -1; i < iters; i++) { /* i == -1: warm-up */
        if (i == 0) t0 = now();
        if (pp_median && i > 0) {
            double t = now();
            rtt[i - 1] = t - ti;
            ti = t;
        } else if (pp_median && i == 0) ti = t0;
        if (rank == 0) {
            a->send(b->s, n, MPI_BYTE, peer, 1, c);
            a->recv(b->r, n, MPI_BYTE, peer, 1, c, MPI_STATUS_IGNORE);
        } else {
            a->recv(b->r, n, MPI_BYTE, peer, 1, c, MPI_STATUS_IGNORE);
            a->send(b->s, n, MPI_BYTE, peer, 1, c);
        }
    }
    double t1 = now();
    if (pp_median && iters > 0) {
        rtt[iters - 1] = t1 - ti;
        qsort(rtt, iters, sizeof rtt[0], cmp_double);
        return (iters % 2 ? rtt[iters / 2] : (rtt[iters / 2 - 1] + rtt[iters / 2]) / 2) * 1e6 / 2;
    }
    return (t1 - t0) * 1e6 / iters / 2;
}

static double allreduce(const struct variant *v, size_t bytes, int iters) {
    const struct api *a = v->api;
    struct bufs *b = bufs_of(v);
    int n = (int)(bytes / 8);
    double t0 = 0;
    for (int i = -1; i < iters; i++) {
        if (i == 0) t0 = now();
        a->allreduce(b->s, b->r, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
    return (now() - t0) * 1e6 / iters;
}

typedef int (*bcast_f)(void *, int, MPI_Datatype, int, MPI_Comm);

/* Broadcast from rank 0 (receivers then answer with a 1-byte message, so that back-to-back
 * broadcasts do not overlap): time per broadcast. */
static double bcast(const struct variant *v, size_t bytes, int iters) {
    struct bufs *b = bufs_of(v);
    bcast_f bc = v->api == &API_PMPI ? PMPI_Bcast : MPI_Bcast;
    char ack = 0;
    double t0 = 0;
    for (int i = -1; i < iters; i++) {
        if (i == 0) t0 = now();
        bc(b->r, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rank == 0) PMPI_Recv(&ack, 1, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        else PMPI_Send(&ack, 1, MPI_BYTE, peer, 3, MPI_COMM_WORLD);
    }
    return (now() - t0) * 1e6 / iters;
}

#define WINDOW 64
static double multi(const struct variant *v, size_t bytes, int iters) {
    const struct api *a = v->api;
    struct bufs *b = bufs_of(v);
    MPI_Request req[2 * WINDOW];
    double t0 = 0;
    for (int i = -1; i < iters; i++) {
        if (i == 0) t0 = now();
        for (int k = 0; k < WINDOW; k++) a->irecv(b->r + k * bytes, (int)bytes, MPI_BYTE, peer, k, MPI_COMM_WORLD, &req[k]);
        for (int k = 0; k < WINDOW; k++) a->isend(b->s + k * bytes, (int)bytes, MPI_BYTE, peer, k, MPI_COMM_WORLD, &req[WINDOW + k]);
        a->waitall(2 * WINDOW, req, MPI_STATUSES_IGNORE);
    }
    return (now() - t0) * 1e6 / iters;
}

/* 8-byte ping-pong with Isend/Irecv/Waitall: the completion calls see the request table. */
static double pingpong_nb(const struct variant *v, size_t bytes, int iters) {
    const struct api *a = v->api;
    struct bufs *b = bufs_of(v);
    MPI_Request req[2];
    double t0 = 0;
    for (int i = -1; i < iters; i++) {
        if (i == 0) t0 = now();
        if (rank == 0) {
            a->isend(b->s, (int)bytes, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[0]);
            a->waitall(1, req, MPI_STATUSES_IGNORE);
            a->irecv(b->r, (int)bytes, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[1]);
            a->waitall(1, req + 1, MPI_STATUSES_IGNORE);
        } else {
            a->irecv(b->r, (int)bytes, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[1]);
            a->waitall(1, req + 1, MPI_STATUSES_IGNORE);
            a->isend(b->s, (int)bytes, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[0]);
            a->waitall(1, req, MPI_STATUSES_IGNORE);
        }
    }
    return (now() - t0) * 1e6 / iters / 2;
}

static void emit(const char *test, const char *variant, size_t size, int rep, double us) {
    if (rank == 0) printf("D,%s,%s,%zu,%d,%.6f\n", test, variant, size, rep, us);
}

/* libveo copies per iteration on each rank between two snapshots (iterations: the batch and its warm-up) */
static void emit_copies(const char *test, const char *variant, size_t size, const stats_t *a, const stats_t *b, int iters) {
    enum { K = 8 };
    double mine[K], all[2 * K];
    int idx[K] = {ST_COPIES_FROM_VE, ST_COPIES_TO_VE, ST_BYTES_FROM_VE, ST_BYTES_TO_VE, ST_NS_FROM_VE, ST_NS_TO_VE,
                  ST_KERNEL_CALLS, ST_NS_KERNEL};
    for (int k = 0; k < K; k++) mine[k] = (double)(b->v[idx[k]] - a->v[idx[k]]) / (iters + 1);
    PMPI_Gather(mine, K, MPI_DOUBLE, all, K, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0)
        for (int r = 0; r < 2; r++) {
            const double *x = all + K * r;
            printf("C,%s,%s,%zu,%d,%.3f,%.3f,%.0f,%.0f,%.0f,%.0f,%.3f,%.0f\n", test, variant, size, r, x[0], x[1], x[2], x[3],
                   x[4], x[5], x[6], x[7]);
        }
}

typedef double (*test_f)(const struct variant *, size_t, int);

/* The interleaved loop: every repetition, every size, every variant (rotating order). */
static void run_interleaved(const char *name, test_f f, const size_t *sizes, int nsizes, int reps, double per_byte, double base,
                            double budget, int lo, int hi, const struct variant *vs, int nv) {
    for (int rep = 0; rep < reps; rep++) {
        for (int s = 0; s < nsizes; s++) {
            int iters = iters_for(sizes[s], per_byte, base, budget, lo, hi);
            for (int j = 0; j < nv; j++) {
                const struct variant *v = &vs[(j + rep) % nv];
                use_variant(v);
                MPI_Barrier(MPI_COMM_WORLD);
                stats_t a, b;
                if (rep == 0) stats(&a);
                double us = f(v, sizes[s], iters);
                if (rep == 0) {
                    stats(&b);
                    emit_copies(name, v->name, sizes[s], &a, &b, iters);
                }
                emit(name, v->name, sizes[s], rep, us);
            }
        }
        if (rank == 0) fflush(stdout);
    }
}

static size_t parse_size(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (*end == 'K' || *end == 'k') v *= 1024;
    if (*end == 'M' || *end == 'm') v *= 1024 * 1024;
    return (size_t)v;
}

static int parse_sizes(const char *s, size_t *out, int max) {
    int n = 0;
    char *dup = strdup(s), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) out[n++] = parse_size(t);
    free(dup);
    return n;
}

static int has(const char *list, const char *word) {
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

/* 2-D halo exchange with the peer: the (n+2) x (n+2) grid of doubles in b->s; rows 1 and n go to the
 * peer's halo rows n+1 and 0, columns 1 and n (an MPI_Type_vector of n blocks) to its halo columns. */
static double halo(const struct variant *v, size_t n, int iters) {
    const struct api *a = v->api;
    struct bufs *b = bufs_of(v);
    size_t w = n + 2;
    double *g = (double *)b->s;
    MPI_Datatype col;
    PMPI_Type_vector((int)n, 1, (int)w, MPI_DOUBLE, &col);
    PMPI_Type_commit(&col);
    MPI_Request req[8];
    double t0 = 0;
    for (int i = -1; i < iters; i++) {
        if (i == 0) t0 = now();
        a->irecv(g + 1, (int)n, MPI_DOUBLE, peer, 10, MPI_COMM_WORLD, &req[0]);               /* row 0 */
        a->irecv(g + (n + 1) * w + 1, (int)n, MPI_DOUBLE, peer, 11, MPI_COMM_WORLD, &req[1]); /* row n+1 */
        a->irecv(g + w, 1, col, peer, 12, MPI_COMM_WORLD, &req[2]);                           /* column 0 */
        a->irecv(g + w + n + 1, 1, col, peer, 13, MPI_COMM_WORLD, &req[3]);                   /* column n+1 */
        a->isend(g + n * w + 1, (int)n, MPI_DOUBLE, peer, 10, MPI_COMM_WORLD, &req[4]);       /* row n */
        a->isend(g + w + 1, (int)n, MPI_DOUBLE, peer, 11, MPI_COMM_WORLD, &req[5]);           /* row 1 */
        a->isend(g + w + n, 1, col, peer, 12, MPI_COMM_WORLD, &req[6]);                       /* column n */
        a->isend(g + w + 1, 1, col, peer, 13, MPI_COMM_WORLD, &req[7]);                       /* column 1 */
        a->waitall(8, req, MPI_STATUSES_IGNORE);
    }
    double us = (now() - t0) * 1e6 / iters;
    PMPI_Type_free(&col);
    return us;
}

/* ---- pending requests: the cost of a call must not grow with them ---- */
static void pending_test(int reps, int npending) {
    MPI_Comm pc;
    PMPI_Comm_dup(MPI_COMM_WORLD, &pc);
    char *sink = NULL;
    if (posix_memalign((void **)&sink, 64, (size_t)npending * 8) != 0) MPI_Abort(MPI_COMM_WORLD, 2);
    MPI_Request *pend = __libc_malloc(sizeof(MPI_Request) * (npending + 8));
    struct variant vs[2] = {{"host-pmpi", &API_PMPI, 'h', -1}, {"host-shim", &API_MPI, 'h', -1}};
    int iters = iters_for(8, 0, 3.0, 4000, 50, 4000);
    const char *states[3] = {"none", "host", "host+ve"};
    int nstates = shim_loaded ? 3 : 2;
    int posted = 0;
    char *vebuf = NULL;
    for (int st = 0; st < nstates; st++) {
        if (st == 1) {
            for (int k = 0; k < npending; k++) PMPI_Irecv(sink + 8 * k, 8, MPI_BYTE, peer, 7, pc, &pend[posted++]);
        }
        if (st == 2) {
            vebuf = alloc_place('v', 4 * 8);
            for (int k = 0; k < 4; k++) MPI_Irecv(vebuf + 8 * k, 8, MPI_BYTE, peer, 8, pc, &pend[posted++]);
        }
        char name[64];
        snprintf(name, sizeof name, "pending-%s", states[st]);
        run_interleaved(name, pingpong_nb, (size_t[]){8}, 1, reps, 0, 3.0, 4000, 50, 4000, vs, 2);
        (void)iters;
    }
    /* match every pending receive, then complete them (through the shim: it finishes the VE ones) */
    char *src = __libc_calloc(1, (size_t)npending * 8 + 64);
    MPI_Request *sreq = __libc_malloc(sizeof(MPI_Request) * (posted + 1));
    int ns = 0;
    for (int k = 0; k < posted && k < npending; k++) PMPI_Isend(src + 8 * k, 8, MPI_BYTE, peer, 7, pc, &sreq[ns++]);
    for (int k = npending; k < posted; k++) PMPI_Isend(src, 8, MPI_BYTE, peer, 8, pc, &sreq[ns++]);
    MPI_Waitall(posted, pend, MPI_STATUSES_IGNORE);
    PMPI_Waitall(ns, sreq, MPI_STATUSES_IGNORE);
    __libc_free(src);
    __libc_free(sreq);
    __libc_free(pend);
    free(sink);
    if (vebuf) veo_free_hmem(vebuf);
    PMPI_Comm_free(&pc);
}

/* ---- heap allocations in steady state ---- */
static void alloc_test(size_t bytes, int count, const char *label, int pipe) {
    struct variant v = {"ve", &API_MPI, 'v', pipe};
    use_variant(&v);
    /* warm up: pool, caches and tables at their high-water mark (for pipelined transfers: the most
     * chunks in flight, which depends on timing) */
    pingpong(&v, bytes, bytes >= (1 << 20) ? count : count / 5 + 20);
    MPI_Barrier(MPI_COMM_WORLD);
    stats_t a, b;
    stats(&a);
    atomic_store(&mallocs, 0);
    atomic_store(&counting, 1);
    pingpong(&v, bytes, count);
    atomic_store(&counting, 0);
    long m = atomic_load(&mallocs);
    stats(&b);
    /* rank 0 reports the larger of the two ranks' counts */
    long both[3] = {m, (long)(b.v[ST_HEAP_ALLOCS] - a.v[ST_HEAP_ALLOCS]), (long)(b.v[ST_POOL_ALLOCS] - a.v[ST_POOL_ALLOCS])}, maxes[3];
    PMPI_Allreduce(both, maxes, 3, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("A,%s,%zu,%d,%ld,%ld,%ld,%lu\n", label, bytes, count, maxes[0], maxes[1], maxes[2],
               (unsigned long)(b.v[ST_STAGED] - a.v[ST_STAGED]));
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "mpive_bench runs on exactly 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    peer = 1 - rank;

    const char *tests = "pingpong,allreduce,multi,pending,allocs";
    const char *pp_sizes = "0,1,8,64,512,4K,32K,256K,1M,4M,16M";
    const char *ar_sizes = "8,64,512,4K,32K,256K,1M,4M,16M";
    const char *mr_sizes = "8,512,4K,32K,256K";
    const char *halo_sizes = "64,1000";
    const char *vlist = NULL;
    int reps = 9, npending = 10000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tests") && i + 1 < argc) tests = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) time_scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--pp-sizes") && i + 1 < argc) pp_sizes = argv[++i];
        else if (!strcmp(argv[i], "--ar-sizes") && i + 1 < argc) ar_sizes = argv[++i];
        else if (!strcmp(argv[i], "--multi-sizes") && i + 1 < argc) mr_sizes = argv[++i];
        else if (!strcmp(argv[i], "--halo-sizes") && i + 1 < argc) halo_sizes = argv[++i];
        else if (!strcmp(argv[i], "--median")) pp_median = 1;
        else if (!strcmp(argv[i], "--variants") && i + 1 < argc) vlist = argv[++i];
        else if (!strcmp(argv[i], "--pending") && i + 1 < argc) npending = atoi(argv[++i]);
        else {
            if (rank == 0) fprintf(stderr, "mpive_bench: unknown argument %s\n", argv[i]);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }

    shim_loaded = dlsym(RTLD_DEFAULT, "mpive_version") != NULL;
    p_stats_sized = (int (*)(void *, size_t))dlsym(RTLD_DEFAULT, "mpive_stats_sized");
    p_set_tunable = (int (*)(const char *, uint64_t))dlsym(RTLD_DEFAULT, "mpive_set_tunable");
    p_get_tunable = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "mpive_get_tunable");
    uint64_t pm = 0;
    if (p_get_tunable && p_get_tunable("pipeline", &pm) == 0) pipeline_mode = pm != 0;
    if (pipeline_mode) {
        p_get_tunable("pipeline_chunk", &cfg_chunk);
        p_get_tunable("pipeline_threshold", &cfg_threshold);
        p_get_tunable("pipeline_send", &cfg_send);
    }

    size_t pps[32], ars[32], mrs[32], hls[32], maxsz = 0;
    int npp = parse_sizes(pp_sizes, pps, 32), nar = parse_sizes(ar_sizes, ars, 32), nmr = parse_sizes(mr_sizes, mrs, 32);
    int nhl = has(tests, "halo") ? parse_sizes(halo_sizes, hls, 32) : 0;
    for (int i = 0; i < nhl; i++) maxsz = (hls[i] + 2) * (hls[i] + 2) * 8 > maxsz ? (hls[i] + 2) * (hls[i] + 2) * 8 : maxsz;
    for (int i = 0; i < npp; i++) maxsz = pps[i] > maxsz ? pps[i] : maxsz;
    for (int i = 0; i < nar; i++) maxsz = ars[i] > maxsz ? ars[i] : maxsz;
    for (int i = 0; i < nmr; i++) maxsz = mrs[i] * WINDOW > maxsz ? mrs[i] * WINDOW : maxsz;
    if (maxsz < 4096) maxsz = 4096;

    /* variants of this run */
    if (!vlist) vlist = shim_loaded ? (pipeline_mode ? "ve,ve-pipe" : "host-pmpi,host-shim,ve") : "host-pmpi,host-shim";
    /* host-shim splits large collectives in pipelined mode, as every rank does there */
    if (has(vlist, "host-pmpi")) variants[nvariants++] = (struct variant){"host-pmpi", &API_PMPI, 'h', -1, 0, 0};
    if (has(vlist, "host-shim")) variants[nvariants++] = (struct variant){"host-shim", &API_MPI, 'h', pipeline_mode ? 1 : -1, 0, 0};
    if (shim_loaded && has(vlist, "ve")) variants[nvariants++] = (struct variant){"ve", &API_MPI, 'v', pipeline_mode ? 0 : -1, 0, 0};
    if (shim_loaded && pipeline_mode && has(vlist, "ve-pipe")) variants[nvariants++] = (struct variant){"ve-pipe", &API_MPI, 'v', 1, 0, 0};
    if (shim_loaded && has(vlist, "vh-ve")) variants[nvariants++] = (struct variant){"vh-ve", &API_MPI, 'm', -1, 0, 0};
    if (shim_loaded && has(vlist, "ve-def")) variants[nvariants++] = (struct variant){"ve-def", &API_MPI, 'v', -1, 0, 0};
    /* ve-pipe@CHUNK: pipelined with that chunk size and the lowest threshold (the chunk-size sweep) */
    if (shim_loaded && pipeline_mode) {
        char *dup = strdup(vlist), *save = NULL;
        for (char *t = strtok_r(dup, ",", &save); t && nvariants < 16; t = strtok_r(NULL, ",", &save)) {
            if (strncmp(t, "ve-pipe@", 8) != 0) continue;
            variants[nvariants++] = (struct variant){strdup(t), &API_MPI, 'v', 1, parse_size(t + 8), 64 << 10};
        }
        free(dup);
    }
    want_host_pmpi = has(vlist, "host-pmpi");

    proc = veo_proc_create(0);
    if (!proc) MPI_Abort(MPI_COMM_WORLD, 2);
    hostb.s = alloc_place('h', maxsz);
    hostb.r = alloc_place('h', maxsz);
    if (shim_loaded) {
        veb.s = alloc_place('v', maxsz);
        veb.r = alloc_place('v', maxsz);
    }
    if (rank == 0) {
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        int len;
        MPI_Get_library_version(lib, &len);
        char *nl = strchr(lib, '\n');
        if (nl) *nl = 0;
        printf("I,library,%s\nI,shim,%d\nI,pipeline,%d\nI,variants,%s\n", lib, shim_loaded, pipeline_mode, vlist);
        fflush(stdout);
    }

    if (has(tests, "pingpong")) run_interleaved("pingpong", pingpong, pps, npp, reps, 0.0004, 2.0, 3000, 3, 3000, variants, nvariants);
    if (has(tests, "allreduce")) run_interleaved("allreduce", allreduce, ars, nar, reps, 0.0006, 3.0, 3000, 2, 2000, variants, nvariants);
    if (has(tests, "bcast")) run_interleaved("bcast", bcast, ars, nar, reps, 0.0004, 3.0, 3000, 2, 2000, variants, nvariants);
    if (has(tests, "multi")) run_interleaved("multi", multi, mrs, nmr, reps, 0.03, 40.0, 3000, 2, 300, variants, nvariants);
    if (nhl) run_interleaved("halo", halo, hls, nhl, reps, 0.05, 60.0, 3000, 2, 1000, variants, nvariants);
    if (has(tests, "pending")) pending_test(reps, npending);
    if (has(tests, "allocs") && shim_loaded) {
        /* 10,000 small ones; fewer large ones (the count scales down with the size) */
        size_t asz[] = {8, 65536, 4 << 20, 16 << 20};
        for (int i = 0; i < 4; i++) {
            if (asz[i] > maxsz) continue;
            int count = asz[i] <= 65536 ? (asz[i] <= 8 ? 10000 : 1000) : (int)(200 * time_scale) + 5;
            if (!pipeline_mode) alloc_test(asz[i], count, "ve", -1);
            else if (asz[i] >= (1 << 20)) alloc_test(asz[i], count, "ve-pipe", 1);
        }
    }
    if (rank == 0) {
        stats_t s;
        stats(&s);
        printf("I,live_buffers,%lu\nI,pool_cached_bytes,%lu\nI,pipelined,%lu\n", (unsigned long)s.v[ST_LIVE],
               (unsigned long)s.v[ST_POOL_CACHED], (unsigned long)s.v[ST_PIPELINED]);
        printf("I,done,1\n");
    }
    MPI_Finalize();
    return 0;
}
