/*
 * Derived datatypes of every constructor, sent and received between VE, host and mixed buffers.
 * The receive buffer starts filled with a marker; afterwards exactly the bytes the type map covers must
 * hold the data and every hole must still hold the marker. Run with MPIVE_CHECK_COVERAGE=1, the shim
 * also checks its decoding of each type against the real MPI.
 *
 * Types: contiguous, vector, hvector, indexed, hindexed, indexed_block, hindexed_block, struct of
 * derived types, resized (larger and negative lower bound), dup, subarray in C and Fortran order,
 * darray, and nests of them.
 */
#include "vetest.h"

#define NT 32
static MPI_Datatype types[NT];
static const char *names[NT];
static int nt;

static void add(const char *name, MPI_Datatype t) {
    MPI_Type_commit(&t);
    names[nt] = name;
    types[nt++] = t;
}

static void build(void) {
    MPI_Datatype t, u, v;
    MPI_Type_contiguous(5, MPI_DOUBLE, &t);
    add("contiguous", t);
    MPI_Type_vector(3, 2, 4, MPI_INT, &t);
    add("vector", t);
    MPI_Type_create_hvector(4, 3, 20, MPI_SHORT, &t);
    add("hvector", t);
    {
        int bl[4] = {1, 3, 2, 1}, d[4] = {7, 0, 4, 12};
        MPI_Type_indexed(4, bl, d, MPI_FLOAT, &t);
        add("indexed", t);
    }
    {
        int bl[3] = {2, 1, 4};
        MPI_Aint d[3] = {40, 0, 13};
        MPI_Type_create_hindexed(3, bl, d, MPI_CHAR, &t);
        add("hindexed", t);
    }
    {
        int d[3] = {5, 0, 9};
        MPI_Type_create_indexed_block(3, 2, d, MPI_INT, &t);
        add("indexed_block", t);
    }
    {
        MPI_Aint d[3] = {24, 0, 64};
        MPI_Type_create_hindexed_block(3, 1, d, MPI_DOUBLE, &t);
        add("hindexed_block", t);
    }
    /* struct of a vector, a char and an hindexed */
    {
        MPI_Type_vector(2, 1, 3, MPI_INT, &u);
        int bl2[2] = {1, 2};
        MPI_Aint d2[2] = {3, 10};
        MPI_Type_create_hindexed(2, bl2, d2, MPI_CHAR, &v);
        int bl[3] = {2, 1, 1};
        MPI_Aint d[3] = {0, 40, 48};
        MPI_Datatype ts[3] = {u, MPI_CHAR, v};
        MPI_Type_create_struct(3, bl, d, ts, &t);
        add("struct of derived types", t);
        MPI_Type_free(&u);
        MPI_Type_free(&v);
    }
    MPI_Type_contiguous(3, MPI_INT, &u);
    MPI_Type_create_resized(u, 0, 20, &t);
    add("resized larger", t);
    MPI_Type_create_resized(u, -8, 24, &t);
    add("resized negative lb", t);
    MPI_Type_free(&u);
    MPI_Type_vector(3, 1, 2, MPI_DOUBLE, &u);
    MPI_Type_dup(u, &t);
    add("dup of vector", t);
    MPI_Type_free(&u);
    {
        int sizes[3] = {4, 5, 6}, subs[3] = {2, 3, 2}, starts[3] = {1, 1, 3};
        MPI_Type_create_subarray(3, sizes, subs, starts, MPI_ORDER_C, MPI_INT, &t);
        add("subarray C order", t);
        MPI_Type_create_subarray(3, sizes, subs, starts, MPI_ORDER_FORTRAN, MPI_INT, &t);
        add("subarray Fortran order", t);
    }
    {
        int gs[2] = {8, 6}, distribs[2] = {MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_CYCLIC}, dargs[2] = {MPI_DISTRIBUTE_DFLT_DARG, 2},
            ps[2] = {2, 2};
        MPI_Type_create_darray(4, 1, 2, gs, distribs, dargs, ps, MPI_ORDER_C, MPI_DOUBLE, &t);
        add("darray", t);
    }
    /* vector of a resized struct: nests */
    {
        int bl[2] = {1, 1};
        MPI_Aint d[2] = {0, 8};
        MPI_Datatype ts[2] = {MPI_CHAR, MPI_DOUBLE};
        MPI_Type_create_struct(2, bl, d, ts, &u);
        MPI_Type_create_resized(u, 0, 24, &v);
        MPI_Type_vector(3, 2, 3, v, &t);
        add("vector of resized struct", t);
        MPI_Type_free(&u);
        MPI_Type_free(&v);
    }
    MPI_Type_vector(4, 1, -3, MPI_INT, &t);
    add("vector with negative stride", t);
#if MPI_VERSION >= 4
    /* MPI-4 large-count constructors keep their counts in "large counts" (MPI_Type_get_contents_c) */
    MPI_Type_vector_c(3, 2, 5, MPI_INT, &t);
    add("vector_c", t);
    {
        MPI_Count bl[3] = {2, 1, 3}, d[3] = {6, 0, 10};
        MPI_Type_indexed_c(3, bl, d, MPI_SHORT, &t);
        add("indexed_c", t);
    }
    {
        MPI_Count bl[2] = {1, 2};
        MPI_Count d[2] = {0, 16};
        MPI_Datatype ts[2] = {MPI_INT, MPI_DOUBLE};
        MPI_Type_create_struct_c(2, bl, d, ts, &t);
        add("struct_c", t);
    }
    {
        MPI_Count sizes[2] = {5, 7}, subs[2] = {2, 3}, starts[2] = {1, 2};
        MPI_Type_create_subarray_c(2, sizes, subs, starts, MPI_ORDER_C, MPI_FLOAT, &t);
        add("subarray_c", t);
    }
    MPI_Type_create_hvector_c(3, 2, 20, MPI_SHORT, &t);
    add("hvector_c", t);
    {
        MPI_Count bl[2] = {2, 1}, d[2] = {24, 4};
        MPI_Type_create_hindexed_c(2, bl, d, MPI_INT, &t);
        add("hindexed_c", t);
        MPI_Type_create_hindexed_block_c(2, 1, d, MPI_DOUBLE, &t);
        add("hindexed_block_c", t);
    }
    MPI_Type_contiguous_c(2, MPI_INT, &u);
    MPI_Type_create_resized_c(u, 0, 12, &t);
    add("resized_c", t);
    MPI_Type_free(&u);
#endif
}


int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    build();
    int next = (vt_rank + 1) % vt_size, prev = (vt_rank + vt_size - 1) % vt_size;
    for (int k = 0; k < 2 * VT_NPLACE; k++) {
        const char *pl = vt_placements[(k < VT_NPLACE ? k : k + vt_rank) % VT_NPLACE];
        for (int i = 0; i < nt; i++) {
            for (int count = 1; count <= 3; count += 2) {
                MPI_Aint lb, ext, tlb, text;
                MPI_Type_get_extent(types[i], &lb, &ext);
                MPI_Type_get_true_extent(types[i], &tlb, &text);
                /* room for count elements wherever the bounds put them */
                size_t off = 64 + (tlb < 0 ? -tlb : 0) + (ext < 0 ? (size_t)(-ext) * count : 0);
                size_t n = off + (size_t)(text + (ext > 0 ? ext : -ext) * count) + 64;
                void *s = vt_make(pl[0], n, 1000 + vt_rank * 31 + i);
                void *r = vt_make(pl[1], n, 0);
                unsigned char *e = malloc(n);
                char what[128];
                MPI_Sendrecv((char *)s + off, count, types[i], next, i, (char *)r + off, count, types[i], prev, i, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                vt_expect_typed(e, n, off, count, types[i], 1000 + prev * 31 + i);
                snprintf(what, sizeof what, "%s x%d (%s)", names[i], count, pl);
                vt_check(what, r, e, n);
                vt_free(s);
                vt_free(r);
                free(e);
            }
        }
    }
    for (int i = 0; i < nt; i++) MPI_Type_free(&types[i]);
    return vt_finish("datatypes");
}
