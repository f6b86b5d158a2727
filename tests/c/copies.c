/*
 * libveo round trips (copies and VE kernel calls) per message, counted exactly from
 * mpive_stats_sized deltas, for contiguous data, a 1,000-block vector, an indexed type, a struct,
 * dense and gapped Allgatherv; data checked byte for byte, holes left alone (also holes that VE
 * code writes while a receive is pending), short messages, and bad VE addresses.
 *
 * MPIVE_VE_KERNEL=0 (or VT_EXPECT_KERNEL=0) in the environment: the expected counts are those of the
 * fallback (one asynchronous copy per run). Ranks pair up (0-1, 2-3); an odd last rank only joins collectives.
 * Each measured case prints "COUNT <case> <role> <copies from VE> <copies to VE> <kernel calls>".
 */
#include "vetest.h"
#include <dlfcn.h>
#include <mpive.h>

static int kernel_on;

static mpive_stats_t stats(void) {
    static int (*fn)(mpive_stats_t *, size_t);
    mpive_stats_t s;
    memset(&s, 0, sizeof s);
    if (!fn) fn = (int (*)(mpive_stats_t *, size_t))dlsym(RTLD_DEFAULT, "mpive_stats_sized");
    if (fn) fn(&s, sizeof s);
    return s;
}

struct count {
    long from, to, calls;
};

static struct count delta(mpive_stats_t a, mpive_stats_t b) {
    struct count c = {(long)(b.copies_from_ve - a.copies_from_ve), (long)(b.copies_to_ve - a.copies_to_ve),
                      (long)(b.ve_kernel_calls - a.ve_kernel_calls)};
    return c;
}

static void expect_count(const char *what, const char *role, struct count got, struct count want) {
    printf("COUNT %s %s %ld %ld %ld\n", what, role, got.from, got.to, got.calls);
    VT_ASSERT(got.from == want.from && got.to == want.to && got.calls == want.calls,
              "%s (%s): %ld copies from VE, %ld to VE, %ld kernel calls; expected %ld, %ld, %ld", what, role, got.from,
              got.to, got.calls, want.from, want.to, want.calls);
}

/* What staging `nruns` runs (covering `covered` of `span` bytes) costs: loading them (from VE)
 * or storing them (to VE). Mirrors the shim's rule: the span is read whole when its holes cost less
 * than the round trips saved (16 KiB of transfer per round trip). */
static struct count load_cost(long nruns, long covered, long span) {
    struct count c = {0, 0, 0};
    long trips = kernel_on && nruns > 2 ? 1 : (nruns < 2 ? nruns : 2);
    if (nruns == 1 || (nruns > 1 && span <= covered + trips * 16384)) {
        c.from = 1;
    } else if (kernel_on && nruns > 2) {
        c.from = 1, c.calls = 1;
    } else {
        c.from = nruns;
    }
    return c;
}

static struct count store_cost(long nruns) {
    struct count c = {0, 0, 0};
    if (kernel_on && nruns > 2)
        c.to = 1, c.calls = 1;
    else
        c.to = nruns;
    return c;
}

static struct count add(struct count a, struct count b) {
    struct count c = {a.from + b.from, a.to + b.to, a.calls + b.calls};
    return c;
}

struct tcase {
    const char *name;
    MPI_Datatype dt;
    int count;
    long nruns, covered, span;
    int ascending; /* the type map visits the runs in ascending address order */
};

/* One send/receive of `t` between the pair, twice (the first one writes the run list to VE memory);
 * the second is counted. Both buffers are VE memory. */
static void p2p(struct tcase *t, int peer, int sender) {
    size_t n = (size_t)t->span;
    unsigned char *expect = malloc(n);
    for (int round = 0; round < 2; round++) {
        void *buf = sender ? vt_make('v', n, 11) : vt_make('v', n, 0);
        mpive_stats_t a, b;
        MPI_Barrier(MPI_COMM_WORLD);
        a = stats();
        if (sender)
            MPI_Send(buf, t->count, t->dt, peer, 5, MPI_COMM_WORLD);
        else
            MPI_Recv(buf, t->count, t->dt, peer, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        b = stats();
        if (!sender) {
            char what[96];
            snprintf(what, sizeof what, "%s receive, round %d", t->name, round);
            vt_expect_typed(expect, n, 0, t->count, t->dt, 11);
            vt_check(what, buf, expect, n);
        }
        if (round == 1) {
            /* A receive whose type map ascends stores what arrived and reads nothing first; any other
             * receive loads the runs first, so that bytes a short message does not bring stay. */
            struct count want = t->nruns == 1 ? (struct count){sender, !sender, 0}
                                : sender      ? load_cost(t->nruns, t->covered, t->span)
                                : t->ascending ? store_cost(t->nruns)
                                              : add(load_cost(t->nruns, t->covered, t->span), store_cost(t->nruns));
            expect_count(t->name, sender ? "send" : "recv", delta(a, b), want);
        }
        vt_free(buf);
    }
    free(expect);
}

/* A pending receive of the vector: VE code writes the holes meanwhile; they must keep what it wrote. */
static void holes_written_while_pending(MPI_Datatype vec, int peer, int sender) {
    const size_t n = 999 * 64 + 8;
    MPI_Request r = MPI_REQUEST_NULL;
    void *buf = sender ? vt_make('v', n, 23) : vt_make('v', n, 0);
    if (!sender) MPI_Irecv(buf, 1, vec, peer, 6, MPI_COMM_WORLD, &r);
    if (!sender) {
        unsigned char fill[56];
        memset(fill, 0x5A, sizeof fill);
        for (int i = 0; i < 999; i++) vt_put((char *)buf + i * 64 + 8, fill, sizeof fill);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (sender) MPI_Send(buf, 1, vec, peer, 6, MPI_COMM_WORLD);
    else MPI_Wait(&r, MPI_STATUS_IGNORE);
    if (!sender) {
        unsigned char *expect = malloc(n), *src = malloc(n);
        vt_pattern(src, n, 23);
        memset(expect, 0x5A, n);
        for (int i = 0; i < 1000; i++) memcpy(expect + i * 64, src + i * 64, 8);
        vt_check("holes written by the VE while the receive was pending", buf, expect, n);
        free(expect);
        free(src);
    }
    vt_free(buf);
}

/* A short message: 600 doubles into a 1,000-block vector; blocks 600.. and the holes keep the marker. */
static void short_message(MPI_Datatype vec, int peer, int sender) {
    const size_t n = 999 * 64 + 8;
    void *buf = sender ? vt_make('v', 600 * 8, 31) : vt_make('v', n, 0);
    MPI_Status st;
    if (sender) {
        MPI_Send(buf, 600, MPI_DOUBLE, peer, 7, MPI_COMM_WORLD);
    } else {
        int got = -1;
        unsigned char *expect = malloc(n), *src = malloc(600 * 8);
        MPI_Recv(buf, 1, vec, peer, 7, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &got);
        VT_ASSERT(got == 600, "short message: %d doubles received, expected 600", got);
        vt_pattern(src, 600 * 8, 31);
        memset(expect, VT_MARK, n);
        for (int i = 0; i < 600; i++) memcpy(expect + i * 64, src + i * 8, 8);
        vt_check("short message into a vector", buf, expect, n);
        free(expect);
        free(src);
    }
    vt_free(buf);
}

/* A short message of k ints into `count` elements of `dt` (whose span is n bytes), received into a
 * VE buffer and, as the reference, into a host buffer by the MPI itself; both start filled with the
 * marker and must end equal byte for byte: the bytes the message did not reach keep the marker. */
static void short_ints(const char *what, MPI_Datatype dt, int count, size_t n, int k, int peer, int sender) {
    if (sender) {
        void *h = vt_make('h', k * sizeof(int), 37), *v = vt_make('v', k * sizeof(int), 37);
        MPI_Send(h, k, MPI_INT, peer, 8, MPI_COMM_WORLD);
        MPI_Send(v, k, MPI_INT, peer, 8, MPI_COMM_WORLD);
        vt_free(h);
        vt_free(v);
    } else {
        unsigned char *ref = malloc(n);
        void *buf = vt_make('v', n, 0);
        MPI_Status st;
        int got = -1;
        memset(ref, VT_MARK, n);
        MPI_Recv(ref, count, dt, peer, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Recv(buf, count, dt, peer, 8, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_INT, &got);
        VT_ASSERT(got == k, "%s: %d ints received, expected %d", what, got, k);
        vt_check(what, buf, ref, n);
        vt_free(buf);
        free(ref);
    }
}

/* Short messages into types whose type map ascends (the store is cut at what arrived, nothing is
 * read first) and into types whose type map does not (the runs are read first). */
static void short_messages(MPI_Datatype backwards, int peer, int sender) {
    MPI_Datatype pairs, perm, quad;
    MPI_Type_vector(1000, 2, 16, MPI_INT, &pairs);
    MPI_Type_commit(&pairs);
    short_ints("short message ending inside a block of a vector", pairs, 1, (999 * 16 + 2) * sizeof(int), 5, peer, sender);
    short_ints("short message into an indexed type listed backwards", backwards, 1, (99 * 100 + 5) * sizeof(int), 7, peer,
               sender);
    {
        /* dense, but its type map visits the second int first */
        int bl[2] = {1, 1};
        MPI_Aint dp[2] = {sizeof(int), 0};
        MPI_Datatype ty[2] = {MPI_INT, MPI_INT};
        MPI_Type_create_struct(2, bl, dp, ty, &perm);
        MPI_Type_commit(&perm);
    }
    short_ints("short message into a permuted dense struct", perm, 2, 4 * sizeof(int), 3, peer, sender);
    MPI_Type_contiguous(4, MPI_INT, &quad);
    MPI_Type_commit(&quad);
    short_ints("short message into a contiguous type", quad, 3, 12 * sizeof(int), 6, peer, sender);
    {
        /* a 4x4 transpose: columns (a vector resized to one int's extent) one after the other; dense,
         * but the type map goes back after every column */
        MPI_Datatype col, col1, tr;
        MPI_Type_vector(4, 1, 4, MPI_INT, &col);
        MPI_Type_create_resized(col, 0, sizeof(int), &col1);
        MPI_Type_contiguous(4, col1, &tr);
        MPI_Type_commit(&tr);
        short_ints("short message into a transpose type", tr, 1, 16 * sizeof(int), 6, peer, sender);
        MPI_Type_free(&col);
        MPI_Type_free(&col1);
        MPI_Type_free(&tr);
    }
    MPI_Type_free(&pairs);
    MPI_Type_free(&perm);
    MPI_Type_free(&quad);
}

/* Allgatherv of 100 ints per rank from VE into VE, blocks `stride` ints apart (100: dense). */
static void allgatherv(int stride) {
    const int k = 100;
    size_t rn = (size_t)((vt_size - 1) * stride + k) * sizeof(int);
    int *counts = malloc(vt_size * sizeof(int)), *displs = malloc(vt_size * sizeof(int));
    unsigned char *expect = malloc(rn);
    char what[64];
    for (int i = 0; i < vt_size; i++) counts[i] = k, displs[i] = i * stride;
    for (int round = 0; round < 2; round++) {
        void *s = vt_make('v', k * sizeof(int), 40 + vt_rank), *r = vt_make('v', rn, 0);
        mpive_stats_t a, b;
        MPI_Barrier(MPI_COMM_WORLD);
        a = stats();
        MPI_Allgatherv(s, k, MPI_INT, r, counts, displs, MPI_INT, MPI_COMM_WORLD);
        b = stats();
        memset(expect, VT_MARK, rn);
        for (int i = 0; i < vt_size; i++) {
            unsigned char p[400];
            vt_pattern(p, sizeof p, 40 + i);
            memcpy(expect + (size_t)i * stride * sizeof(int), p, sizeof p);
        }
        snprintf(what, sizeof what, "Allgatherv, blocks %d ints apart", stride);
        vt_check(what, r, expect, rn);
        if (round == 1) {
            long nruns = stride == k ? 1 : vt_size;
            struct count want = add((struct count){1, 0, 0}, store_cost(nruns));
            expect_count(stride == k ? "allgatherv-dense" : "allgatherv-gapped", "both", delta(a, b), want);
        }
        vt_free(s);
        vt_free(r);
    }
    free(counts);
    free(displs);
    free(expect);
}

/* Alltoallw and Neighbor_allgather (periodic ring) with dense blocks: one copy per direction per VE
 * buffer. */
static void dense_w_and_neighbor(void) {
    const int k = 64;
    size_t n = (size_t)vt_size * k * sizeof(int);
    int *counts = malloc(vt_size * sizeof(int)), *displs = malloc(vt_size * sizeof(int));
    MPI_Datatype *types = malloc(vt_size * sizeof(MPI_Datatype));
    unsigned char *expect = malloc(n);
    MPI_Comm ring;
    int dims[1] = {vt_size}, periods[1] = {1}, left, right;
    for (int i = 0; i < vt_size; i++) counts[i] = k, displs[i] = i * k * (int)sizeof(int), types[i] = MPI_INT;
    MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring);
    MPI_Cart_shift(ring, 0, 1, &left, &right);
    for (int round = 0; round < 2; round++) {
        void *s = vt_make('v', n, 60 + vt_rank), *r = vt_make('v', n, 0);
        mpive_stats_t a, b;
        MPI_Barrier(MPI_COMM_WORLD);
        a = stats();
        MPI_Alltoallw(s, counts, displs, types, r, counts, displs, types, MPI_COMM_WORLD);
        b = stats();
        for (int i = 0; i < vt_size; i++) {
            unsigned char *p = malloc(n);
            vt_pattern(p, n, 60 + i);
            memcpy(expect + (size_t)i * k * sizeof(int), p + (size_t)vt_rank * k * sizeof(int), k * sizeof(int));
            free(p);
        }
        vt_check("Alltoallw, dense blocks", r, expect, n);
        if (round) expect_count("alltoallw-dense", "both", delta(a, b), (struct count){1, 1, 0});
        vt_free(r);
        r = vt_make('v', 2 * k * sizeof(int), 0);
        MPI_Barrier(MPI_COMM_WORLD);
        a = stats();
        MPI_Neighbor_allgather(s, k, MPI_INT, r, k, MPI_INT, ring);
        b = stats();
        {
            unsigned char *p = malloc(n);
            vt_pattern(p, n, 60 + left);
            memcpy(expect, p, k * sizeof(int));
            vt_pattern(p, n, 60 + right);
            memcpy(expect + k * sizeof(int), p, k * sizeof(int));
            free(p);
        }
        vt_check("Neighbor_allgather on a ring", r, expect, 2 * k * sizeof(int));
        if (round) expect_count("neighbor-allgather", "both", delta(a, b), (struct count){1, 1, 0});
        vt_free(s);
        vt_free(r);
    }
    MPI_Comm_free(&ring);
    free(counts);
    free(displs);
    free(types);
    free(expect);
}

/* A vector sent to itself between buffers of a second VE process; the process is destroyed and
 * another created under the same identifier: the shim sets up the new one (its context, scratch
 * memory and run lists) instead of using the old one's. */
static void recreated_process(MPI_Datatype vec) {
    const size_t n = 999 * 64 + 8;
    unsigned char *expect = malloc(n);
    vt_expect_typed(expect, n, 0, 1, vec, 51);
    for (int round = 0; round < 2; round++) {
        struct veo_proc_handle *keep = vt_proc, *p = veo_proc_create(0);
        VT_ASSERT(p != NULL, "a second VE process");
        if (!p) break;
        vt_proc = p;
        void *s = vt_make('v', n, 51), *r = vt_make('v', n, 0);
        MPI_Sendrecv(s, 1, vec, vt_rank, 9, r, 1, vec, vt_rank, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        vt_check(round ? "vector in a VE process created again" : "vector in a second VE process", r, expect, n);
        vt_free(s);
        vt_free(r);
        veo_proc_destroy(p);
        vt_proc = keep;
    }
    free(expect);
}

static void bad_addresses(MPI_Datatype vec) {
    int rc;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    rc = MPI_Send(vt_fake_ve(), 1, vec, vt_rank, 8, MPI_COMM_WORLD);
    vt_expect_error("Send of a vector from unallocated VE memory", rc, MPI_ERR_BUFFER, "VE address");
    {
        /* a receive whose type map ascends reads nothing before the message arrives: the bad
         * address shows when what arrived is stored */
        void *src = vt_make('h', 999 * 64 + 8, 9);
        MPI_Request sr;
        MPI_Isend(src, 1, vec, vt_rank, 8, MPI_COMM_WORLD, &sr);
        rc = MPI_Recv(vt_fake_ve(), 1, vec, vt_rank, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        vt_expect_error("Recv of a vector into unallocated VE memory", rc, MPI_ERR_BUFFER, "VE address");
        MPI_Wait(&sr, MPI_STATUS_IGNORE);
        vt_free(src);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
    const char *k = getenv("MPIVE_VE_KERNEL");
    MPI_Datatype vec, idx, ridx, st0, st;
    int bl[100], dp[100], rdp[100];
    long idx_cov = 0;
    vt_init(&argc, &argv);
    kernel_on = !(k && strcmp(k, "0") == 0);
    if (getenv("VT_EXPECT_KERNEL")) kernel_on = strcmp(getenv("VT_EXPECT_KERNEL"), "0") != 0;

    MPI_Type_vector(1000, 1, 8, MPI_DOUBLE, &vec);
    MPI_Type_commit(&vec);
    for (int i = 0; i < 100; i++) bl[i] = i % 5 + 1, dp[i] = i * 100, idx_cov += bl[i] * 4;
    MPI_Type_indexed(100, bl, dp, MPI_INT, &idx);
    MPI_Type_commit(&idx);
    /* the same blocks listed from the last to the first: the type map goes backwards */
    for (int i = 0; i < 100; i++) rdp[i] = dp[99 - i];
    {
        int rbl[100];
        for (int i = 0; i < 100; i++) rbl[i] = bl[99 - i];
        MPI_Type_indexed(100, rbl, rdp, MPI_INT, &ridx);
        MPI_Type_commit(&ridx);
    }
    {
        int sbl[3] = {1, 1, 3};
        MPI_Aint sdp[3] = {0, 64, 200};
        MPI_Datatype sty[3] = {MPI_INT, MPI_DOUBLE, MPI_CHAR};
        MPI_Type_create_struct(3, sbl, sdp, sty, &st0);
        MPI_Type_create_resized(st0, 0, 256, &st);
        MPI_Type_commit(&st);
    }
    struct tcase cases[] = {
        {"contiguous", MPI_DOUBLE, 8000, 1, 64000, 64000, 1},
        {"vector", vec, 1, 1000, 8000, 999 * 64 + 8, 1},
        {"indexed", idx, 1, 100, idx_cov, (99 * 100 + 5) * 4, 1},
        {"indexed-backwards", ridx, 1, 100, idx_cov, (99 * 100 + 5) * 4, 0},
        {"struct", st, 200, 600, 200 * 15, 199 * 256 + 203, 1},
    };

    int peer = vt_rank ^ 1, sender = vt_rank % 2 == 0, paired = peer < vt_size;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (paired) {
            p2p(&cases[c], peer, sender);
        } else {
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Barrier(MPI_COMM_WORLD);
        }
    }
    if (paired) holes_written_while_pending(vec, peer, sender);
    else MPI_Barrier(MPI_COMM_WORLD);
    if (paired) short_message(vec, peer, sender);
    if (paired) short_messages(ridx, peer, sender);
    allgatherv(100);
    allgatherv(150);
    dense_w_and_neighbor();
    recreated_process(vec);
    bad_addresses(vec);

    MPI_Type_free(&vec);
    MPI_Type_free(&idx);
    MPI_Type_free(&ridx);
    MPI_Type_free(&st0);
    MPI_Type_free(&st);
    return vt_finish("copies");
}
