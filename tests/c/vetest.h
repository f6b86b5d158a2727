/*
 * Helpers for libmpi-ve's MPI test programs.
 *
 * Buffers are placed in host memory ('h') or in simulated VE memory ('v', veo_alloc_hmem). VE memory
 * cannot be dereferenced on the host, so tests fill and read buffers only through vt_put/vt_get
 * (veo_hmemcpy) and compare whole buffers byte for byte, including the bytes an operation must leave
 * alone (pre-filled with a marker).
 */
#ifndef VETEST_H
#define VETEST_H

#include <mpi.h>
#include <ve_offload.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct veo_proc_handle *vt_proc;
static int vt_rank, vt_size, vt_failures, vt_checks;

/* The buffer placements every test runs: send side, receive side. */
static const char *const vt_placements[] = {"hh", "hv", "vh", "vv"};
#define VT_NPLACE 4
#define VT_MARK 0xEE

static void vt_init(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &vt_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &vt_size);
    vt_proc = veo_proc_create(0);
    if (!vt_proc) {
        fprintf(stderr, "rank %d: veo_proc_create(0) failed\n", vt_rank);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

static void *vt_alloc(char where, size_t n) {
    void *p = NULL;
    if (n == 0) n = 1;
    if (where == 'v') {
        if (veo_alloc_hmem(vt_proc, &p, n) != 0 || !veo_is_ve_addr(p)) {
            fprintf(stderr, "rank %d: veo_alloc_hmem(%zu) failed\n", vt_rank, n);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    } else {
        p = malloc(n);
    }
    return p;
}

static void vt_free(void *p) {
    if (veo_is_ve_addr(p)) veo_free_hmem(p); else free(p);
}

static void vt_put(void *dst, const void *src, size_t n) {
    if (n && veo_hmemcpy(dst, src, n) != 0) {
        fprintf(stderr, "rank %d: veo_hmemcpy to %p failed\n", vt_rank, dst);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

static void vt_get(void *dst, const void *src, size_t n) {
    if (n && veo_hmemcpy(dst, src, n) != 0) {
        fprintf(stderr, "rank %d: veo_hmemcpy from %p failed\n", vt_rank, src);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

/* Deterministic content: byte i of the data of `seed`. */
static unsigned char vt_byte(unsigned seed, size_t i) {
    return (unsigned char)((seed * 2654435761u + i * 40503u + (i >> 8) * 7u) >> 3);
}

static void vt_pattern(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = vt_byte(seed, i);
}

/* A buffer placed at `where`, holding `n` bytes of pattern `seed` (or the marker when seed is 0). */
static void *vt_make(char where, size_t n, unsigned seed) {
    void *b = vt_alloc(where, n);
    unsigned char *h = malloc(n ? n : 1);
    if (seed) vt_pattern(h, n, seed); else memset(h, VT_MARK, n);
    vt_put(b, h, n);
    free(h);
    return b;
}

/* Compares buffer `buf` (host or VE) with `expect`, byte for byte. */
static int vt_check(const char *what, const void *buf, const unsigned char *expect, size_t n) {
    unsigned char *got = malloc(n ? n : 1);
    vt_get(got, buf, n);
    vt_checks++;
    for (size_t i = 0; i < n; i++) {
        if (got[i] != expect[i]) {
            fprintf(stderr, "FAIL rank %d/%d: %s: byte %zu of %zu is 0x%02x, expected 0x%02x\n", vt_rank, vt_size, what, i, n,
                    got[i], expect[i]);
            vt_failures++;
            free(got);
            return 0;
        }
    }
    free(got);
    return 1;
}

#define VT_ASSERT(cond, ...)                                                      \
    do {                                                                          \
        vt_checks++;                                                              \
        if (!(cond)) {                                                            \
            fprintf(stderr, "FAIL rank %d/%d: %s:%d: ", vt_rank, vt_size, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
            vt_failures++;                                                        \
        }                                                                         \
    } while (0)

/* The bytes a receive of `count` elements of `dt` at offset `off` of a marker-filled buffer of n bytes
 * must hold afterwards, when the sender sent the same layout from a buffer of pattern `seed`: the
 * typed bytes carry the data, every hole keeps the marker. */
static void vt_expect_typed(unsigned char *out, size_t n, size_t off, int count, MPI_Datatype dt, unsigned seed) {
    unsigned char *src = malloc(n), *packed;
    int size, pos = 0;
    vt_pattern(src, n, seed);
    MPI_Pack_size(count, dt, MPI_COMM_SELF, &size);
    packed = malloc(size ? size : 1);
    MPI_Pack(src + off, count, dt, packed, size, &pos, MPI_COMM_SELF);
    memset(out, VT_MARK, n);
    pos = 0;
    MPI_Unpack(packed, size, &pos, out + off, count, dt, MPI_COMM_SELF);
    free(src);
    free(packed);
}

/* A VE address of process 0 that no allocation covers. */
static void *vt_fake_ve(void) {
    return (void *)(uintptr_t)(0x8000000000000000ull | 0x7f0000000000ull);
}

/* Checks that `rc` is an error of class `class_expected` whose string mentions `needle`. */
static void vt_expect_error(const char *what, int rc, int class_expected, const char *needle) {
    char msg[MPI_MAX_ERROR_STRING + 1] = "";
    int len = 0, cls = -1;
    VT_ASSERT(rc != MPI_SUCCESS, "%s: returned MPI_SUCCESS", what);
    if (rc == MPI_SUCCESS) return;
    MPI_Error_class(rc, &cls);
    MPI_Error_string(rc, msg, &len);
    VT_ASSERT(cls == class_expected, "%s: error class %d, expected %d (%s)", what, cls, class_expected, msg);
    VT_ASSERT(strstr(msg, needle) != NULL, "%s: error string \"%s\" does not mention \"%s\"", what, msg, needle);
}

/* Ends the test: every rank learns the total number of failures; exit status 1 if any. */
static int vt_finish(const char *name) {
    int total = 0, checks = 0;
    MPI_Allreduce(&vt_failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&vt_checks, &checks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (vt_rank == 0) printf("%s: %d checks on %d ranks, %d failures\n", name, checks, vt_size, total);
    veo_proc_destroy(vt_proc);
    MPI_Finalize();
    return total ? 1 : 0;
}

#endif
