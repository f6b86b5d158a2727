/*
 * Pipelined MPI_Allreduce and MPI_Bcast (MPIVE_PIPELINE=1, src/pipeline/coll.rs): buffers in host or VE
 * memory, chosen per rank (so ranks of one call differ), MPI_IN_PLACE, predefined and user-defined
 * operations, counts at and around the threshold with a short last chunk, Bcast from different roots
 * with a non-contiguous datatype on some ranks. Passes with the protocol off as well.
 */
#include <dlfcn.h>
#include "vetest.h"
#include "mpive.h"

static long pipelined(void) {
    int (*fn)(mpive_stats_t *, size_t) = (int (*)(mpive_stats_t *, size_t))dlsym(RTLD_DEFAULT, "mpive_stats_sized");
    mpive_stats_t s;
    memset(&s, 0, sizeof s);
    if (fn) fn(&s, sizeof s);
    return (long)s.pipelined;
}

static void *make_doubles(char place, int n, double base, double step) {
    double *h = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) h[i] = base + (i % 1000) * step;
    void *b = vt_alloc(place, sizeof(double) * (size_t)n);
    vt_put(b, h, sizeof(double) * (size_t)n);
    free(h);
    return b;
}

static void my_sum(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    for (int i = 0; i < *len; i++) ((int *)inout)[i] += ((int *)in)[i];
}

static void test_allreduce(void) {
    const int counts[] = {100, 8192, 8192 * 4 + 3, 200000}; /* doubles: 800 B .. 1.6 MB */
    double rsum = 0;
    for (int r = 0; r < vt_size; r++) rsum += r * 0.5;
    for (int ci = 0; ci < 4; ci++) {
        int n = counts[ci];
        for (int variant = 0; variant < 6; variant++) {
            /* placements differ between ranks: rank r uses pattern (variant + r) */
            int v = (variant + vt_rank) % 6;
            char sp = "hhvvhv"[v], rp = "hvhvhv"[v];
            int in_place = v >= 4;
            char what[96];
            snprintf(what, sizeof what, "Allreduce of %d doubles, send %c recv %c%s (variant %d)", n, sp, rp, in_place ? " in place" : "", variant);
            void *r = in_place ? make_doubles(rp, n, vt_rank * 0.5, 1.0) : vt_make(rp, sizeof(double) * (size_t)n, 0);
            void *s = in_place ? NULL : make_doubles(sp, n, vt_rank * 0.5, 1.0);
            MPI_Allreduce(in_place ? MPI_IN_PLACE : s, r, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            double *e = malloc(sizeof(double) * (size_t)n);
            for (int i = 0; i < n; i++) e[i] = vt_size * (double)(i % 1000) + rsum;
            vt_check(what, r, (unsigned char *)e, sizeof(double) * (size_t)n);
            free(e);
            vt_free(r);
            if (s) vt_free(s);
        }
    }
    /* a user-defined operation on ints */
    MPI_Op op;
    MPI_Op_create(my_sum, 1, &op);
    int n = 100000;
    int *h = malloc(sizeof(int) * (size_t)n), *e = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) h[i] = i + vt_rank, e[i] = vt_size * i + vt_size * (vt_size - 1) / 2;
    void *s = vt_alloc(vt_rank % 2 ? 'h' : 'v', sizeof(int) * (size_t)n), *r = vt_make(vt_rank % 2 ? 'v' : 'h', sizeof(int) * (size_t)n, 0);
    vt_put(s, h, sizeof(int) * (size_t)n);
    MPI_Allreduce(s, r, n, MPI_INT, op, MPI_COMM_WORLD);
    vt_check("Allreduce with a user-defined operation", r, (unsigned char *)e, sizeof(int) * (size_t)n);
    MPI_Op_free(&op);
    free(h), free(e);
    vt_free(s), vt_free(r);
}

static void test_bcast(void) {
    const int counts[] = {50, 8192, 8192 * 5 + 7, 150000}; /* doubles */
    MPI_Datatype strided;
    MPI_Type_create_resized(MPI_DOUBLE, 0, 16, &strided); /* one double every 16 bytes */
    MPI_Type_commit(&strided);
    for (int ci = 0; ci < 4; ci++) {
        int n = counts[ci];
        for (int root = 0; root < vt_size; root += vt_size > 2 ? vt_size - 1 : 1) {
            for (int variant = 0; variant < 4; variant++) {
                int v = (variant + vt_rank) % 4;
                char place = v % 2 ? 'v' : 'h';
                int strided_here = v >= 2; /* some ranks use a non-contiguous datatype */
                size_t bytes = sizeof(double) * (size_t)n * (strided_here ? 2 : 1);
                double *src = malloc(sizeof(double) * (size_t)n);
                for (int i = 0; i < n; i++) src[i] = root * 1000.0 + i;
                unsigned char *img = malloc(bytes);
                memset(img, vt_rank == root ? 0 : VT_MARK, bytes);
                for (int i = 0; i < n; i++) memcpy(img + (size_t)i * (strided_here ? 16 : 8), &src[i], 8);
                void *b = vt_alloc(place, bytes);
                if (vt_rank == root) vt_put(b, img, bytes);
                else {
                    unsigned char *m = malloc(bytes);
                    memset(m, VT_MARK, bytes);
                    vt_put(b, m, bytes);
                    free(m);
                }
                MPI_Bcast(b, n, strided_here ? strided : MPI_DOUBLE, root, MPI_COMM_WORLD);
                char what[96];
                snprintf(what, sizeof what, "Bcast of %d doubles from %d into %c%s", n, root, place, strided_here ? " (strided)" : "");
                vt_check(what, b, img, bytes);
                free(src), free(img);
                vt_free(b);
            }
        }
    }
    MPI_Type_free(&strided);
}

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    long p0 = pipelined(), total = 0;
    test_allreduce();
    test_bcast();
    long mine = pipelined() - p0;
    MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (vt_rank == 0) printf("pipelined: %ld\n", total);
    return vt_finish("pipeline_coll");
}
