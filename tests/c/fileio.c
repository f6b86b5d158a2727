/*
 * MPI-IO with VE, host and mixed buffers: every data-access call of mpi4py-ve's list.
 *
 *   fileio DIR          all checks below, files in DIR
 *   fileio DIR nbreads  only the nonblocking reads; "no-nbreads": all but them
 *   fileio DIR fatal    a VE buffer that is not allocated, under MPI_ERRORS_ARE_FATAL on the file:
 *                       the run must abort with libmpive's message
 *
 * - Writes: each of the 14 write calls (blocking, nonblocking completed by MPI_Waitall, split
 *   collectives) writes one region per rank from buffers placed on the host (the reference), on the
 *   VE, or mixed across ranks, with a contiguous and a derived memory type (3 ints and a hole); the
 *   file must equal the expected bytes and the host run's file byte for byte.
 * - Reads: each of the 14 read calls reads a known file into marker-filled buffers; data, holes and
 *   the status (MPI_Get_elements) must match, for every placement.
 * - A file view with a derived filetype (ranks interleaved in blocks of 4 ints) and etype MPI_INT.
 * - Short reads at the end of the file (whole and partial elements) into marker-filled VE buffers:
 *   only what was read changes, as on the host; through blocking, nonblocking and split calls.
 * - Two split collectives in progress at once on two files.
 * - Nothing is staged twice (the shim's counters, when preloaded), no staging buffer stays lent.
 * - Errors through the file's error handler: MPI_ERRORS_RETURN by default, and a user handler.
 */
#include "vetest.h"
#include "mpive.h"

#pragma weak mpive_stats

#define D 96 /* ints per rank and access */

static const char *dir;
static MPI_Datatype v3; /* 3 ints, then a 4-byte hole: extent 16 */

typedef struct {
    MPI_Datatype dt;
    int count;     /* elements per access */
    int esize;     /* data bytes per element */
    int ext;       /* extent */
    size_t bytes;  /* memory bytes of one access */
    const char *name;
} memtype_t;
static memtype_t mt[2];

static const char *places[] = {"host", "VE", "mixed"};
static char place_of(int p) { return p == 0 ? 'h' : p == 1 ? 'v' : (vt_rank % 2 == 0 ? 'v' : 'h'); }

/* ---- memory images ---- */

/* The data bytes (in order) of a memory image of `n` elements of m. */
static void gather_data(const memtype_t *m, const unsigned char *img, int n, unsigned char *data) {
    for (int e = 0; e < n; e++) memcpy(data + (size_t)e * m->esize, img + (size_t)e * m->ext, m->esize);
}

/* Places the first `nbytes` data bytes into a memory image (a read of nbytes). */
static void scatter_data(const memtype_t *m, const unsigned char *data, size_t nbytes, unsigned char *img) {
    for (size_t b = 0; b < nbytes; b++) img[(b / m->esize) * m->ext + b % m->esize] = data[b];
}

static void file_name(char *out, size_t n, const char *kind, int call, int t, int p) {
    snprintf(out, n, "%s/%s_%d_%d_%d.dat", dir, kind, call, t, p);
}

static unsigned wseed(int call, int t, int r) { return 1 + call * 131 + t * 17 + r * 7; }

static size_t read_file(const char *name, unsigned char *buf, size_t n) {
    FILE *f = fopen(name, "rb");
    if (!f) return 0;
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got;
}

static mpive_stats_t stats_now(void) {
    mpive_stats_t s;
    memset(&s, 0, sizeof s);
    if (mpive_stats) mpive_stats(&s);
    return s;
}

/* ---- the calls ---- */

enum {
    C_PLAIN, C_ALL, C_AT, C_AT_ALL, C_SHARED, C_ORDERED,
    C_I, C_I_ALL, C_I_AT, C_I_AT_ALL, C_I_SHARED,
    C_ALL_SPLIT, C_AT_ALL_SPLIT, C_ORDERED_SPLIT, NCALLS
};
static const char *wname[] = {"MPI_File_write", "MPI_File_write_all", "MPI_File_write_at", "MPI_File_write_at_all",
                              "MPI_File_write_shared", "MPI_File_write_ordered", "MPI_File_iwrite", "MPI_File_iwrite_all",
                              "MPI_File_iwrite_at", "MPI_File_iwrite_at_all", "MPI_File_iwrite_shared",
                              "MPI_File_write_all_begin/end", "MPI_File_write_at_all_begin/end",
                              "MPI_File_write_ordered_begin/end"};
static const char *rname[] = {"MPI_File_read", "MPI_File_read_all", "MPI_File_read_at", "MPI_File_read_at_all",
                              "MPI_File_read_shared", "MPI_File_read_ordered", "MPI_File_iread", "MPI_File_iread_all",
                              "MPI_File_iread_at", "MPI_File_iread_at_all", "MPI_File_iread_shared",
                              "MPI_File_read_all_begin/end", "MPI_File_read_at_all_begin/end",
                              "MPI_File_read_ordered_begin/end"};

/* Does access `call` on `fh` (write when `wr`) with `count` elements of m in buf at byte offset
 * `off` of the file (individual and shared pointers are moved there, in rank order for the shared
 * one); returns the first error and the number of data bytes the statuses report. */
static int offset_unit = 1; /* bytes per file offset unit: the etype size of the view */

static int verbose;
/* Sections: the nonblocking reads, and everything else (see main). */
static int nb_reads = 1, others = 1;
static int is_nb(int call) { return call >= C_I && call <= C_I_SHARED; }

static int faccess(int wr, int call, MPI_File fh, void *buf, const memtype_t *m, int count, MPI_Offset off, MPI_Count *bytes) {
    if (verbose) fprintf(stderr, "rank %d: %s of %d x %s\n", vt_rank, wr ? wname[call] : rname[call], count, m->name);
    MPI_Status st[2];
    MPI_Request rq[2];
    int rc = MPI_SUCCESS, nreq = 0, nst = 1;
    int h1 = count / 2, h2 = count - h1;
    void *buf2 = (char *)buf + (size_t)h1 * m->ext;
    MPI_Offset off2 = off + (MPI_Offset)h1 * m->esize / offset_unit;
    MPI_Comm comm = MPI_COMM_WORLD;
    switch (call) {
    case C_PLAIN:
    case C_ALL:
    case C_I:
    case C_I_ALL:
    case C_ALL_SPLIT:
        MPI_File_seek(fh, off, MPI_SEEK_SET);
        break;
    case C_ORDERED:
    case C_ORDERED_SPLIT:
        MPI_File_seek_shared(fh, 0, MPI_SEEK_SET);
        break;
    }
    switch (call) {
    case C_PLAIN:
        rc = wr ? MPI_File_write(fh, buf, count, m->dt, st) : MPI_File_read(fh, buf, count, m->dt, st);
        break;
    case C_ALL:
        rc = wr ? MPI_File_write_all(fh, buf, count, m->dt, st) : MPI_File_read_all(fh, buf, count, m->dt, st);
        break;
    case C_AT:
        rc = wr ? MPI_File_write_at(fh, off, buf, count, m->dt, st) : MPI_File_read_at(fh, off, buf, count, m->dt, st);
        break;
    case C_AT_ALL:
        rc = wr ? MPI_File_write_at_all(fh, off, buf, count, m->dt, st) : MPI_File_read_at_all(fh, off, buf, count, m->dt, st);
        break;
    case C_ORDERED:
        rc = wr ? MPI_File_write_ordered(fh, buf, count, m->dt, st) : MPI_File_read_ordered(fh, buf, count, m->dt, st);
        break;
    case C_SHARED:
    case C_I_SHARED:
        /* in rank order, so that the file layout is known */
        MPI_File_seek_shared(fh, 0, MPI_SEEK_SET);
        for (int i = 0; i < vt_size; i++) {
            if (i == vt_rank) {
                if (call == C_SHARED) {
                    rc = wr ? MPI_File_write_shared(fh, buf, count, m->dt, st) : MPI_File_read_shared(fh, buf, count, m->dt, st);
                } else {
                    rc = wr ? MPI_File_iwrite_shared(fh, buf, count, m->dt, rq) : MPI_File_iread_shared(fh, buf, count, m->dt, rq);
                    if (rc == MPI_SUCCESS) rc = MPI_Waitall(1, rq, st);
                }
            }
            MPI_Barrier(comm);
        }
        break;
    case C_I:
        rc = wr ? MPI_File_iwrite(fh, buf, h1, m->dt, &rq[0]) : MPI_File_iread(fh, buf, h1, m->dt, &rq[0]);
        if (rc == MPI_SUCCESS) rc = wr ? MPI_File_iwrite(fh, buf2, h2, m->dt, &rq[1]) : MPI_File_iread(fh, buf2, h2, m->dt, &rq[1]);
        nreq = 2;
        break;
    case C_I_ALL:
        rc = wr ? MPI_File_iwrite_all(fh, buf, h1, m->dt, &rq[0]) : MPI_File_iread_all(fh, buf, h1, m->dt, &rq[0]);
        if (rc == MPI_SUCCESS)
            rc = wr ? MPI_File_iwrite_all(fh, buf2, h2, m->dt, &rq[1]) : MPI_File_iread_all(fh, buf2, h2, m->dt, &rq[1]);
        nreq = 2;
        break;
    case C_I_AT:
        rc = wr ? MPI_File_iwrite_at(fh, off, buf, h1, m->dt, &rq[0]) : MPI_File_iread_at(fh, off, buf, h1, m->dt, &rq[0]);
        if (rc == MPI_SUCCESS)
            rc = wr ? MPI_File_iwrite_at(fh, off2, buf2, h2, m->dt, &rq[1]) : MPI_File_iread_at(fh, off2, buf2, h2, m->dt, &rq[1]);
        nreq = 2;
        break;
    case C_I_AT_ALL:
        rc = wr ? MPI_File_iwrite_at_all(fh, off, buf, h1, m->dt, &rq[0]) : MPI_File_iread_at_all(fh, off, buf, h1, m->dt, &rq[0]);
        if (rc == MPI_SUCCESS)
            rc = wr ? MPI_File_iwrite_at_all(fh, off2, buf2, h2, m->dt, &rq[1])
                    : MPI_File_iread_at_all(fh, off2, buf2, h2, m->dt, &rq[1]);
        nreq = 2;
        break;
    case C_ALL_SPLIT:
        rc = wr ? MPI_File_write_all_begin(fh, buf, count, m->dt) : MPI_File_read_all_begin(fh, buf, count, m->dt);
        MPI_Barrier(comm); /* other MPI calls between the two parts */
        if (rc == MPI_SUCCESS) rc = wr ? MPI_File_write_all_end(fh, buf, st) : MPI_File_read_all_end(fh, buf, st);
        break;
    case C_AT_ALL_SPLIT:
        rc = wr ? MPI_File_write_at_all_begin(fh, off, buf, count, m->dt) : MPI_File_read_at_all_begin(fh, off, buf, count, m->dt);
        MPI_Barrier(comm);
        if (rc == MPI_SUCCESS) rc = wr ? MPI_File_write_at_all_end(fh, buf, st) : MPI_File_read_at_all_end(fh, buf, st);
        break;
    case C_ORDERED_SPLIT:
        rc = wr ? MPI_File_write_ordered_begin(fh, buf, count, m->dt) : MPI_File_read_ordered_begin(fh, buf, count, m->dt);
        MPI_Barrier(comm);
        if (rc == MPI_SUCCESS) rc = wr ? MPI_File_write_ordered_end(fh, buf, st) : MPI_File_read_ordered_end(fh, buf, st);
        break;
    }
    if (nreq) {
        if (rc == MPI_SUCCESS) rc = MPI_Waitall(nreq, rq, st);
        nst = nreq;
    }
    *bytes = 0;
    for (int i = 0; i < nst && rc == MPI_SUCCESS; i++) {
        MPI_Count n = 0;
        MPI_Get_elements_x(&st[i], MPI_BYTE, &n);
        *bytes += n;
    }
    return rc;
}

static MPI_File open_file(const char *name, int amode, MPI_Comm comm) {
    MPI_File fh;
    int rc = MPI_File_open(comm, name, amode, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "rank %d: cannot open %s\n", vt_rank, name);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    return fh;
}

/* ---- writes ---- */

static void test_writes(void) {
    size_t fsize = (size_t)vt_size * D * 4;
    unsigned char *expect = malloc(fsize), *got = malloc(fsize + 16), *ref = malloc(fsize + 16);
    char name[600], what[200];
    for (int call = 0; call < NCALLS; call++)
        for (int t = 0; t < 2; t++) {
            const memtype_t *m = &mt[t];
            unsigned char *img = malloc(m->bytes);
            /* expected file: every rank's data bytes in rank order */
            for (int r = 0; r < vt_size; r++) {
                vt_pattern(img, m->bytes, wseed(call, t, r));
                gather_data(m, img, m->count, expect + (size_t)r * D * 4);
            }
            vt_pattern(img, m->bytes, wseed(call, t, vt_rank));
            for (int p = 0; p < 3; p++) {
                file_name(name, sizeof name, "w", call, t, p);
                MPI_File fh = open_file(name, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_COMM_WORLD);
                void *buf = vt_alloc(place_of(p), m->bytes);
                vt_put(buf, img, m->bytes);
                MPI_Count bytes = -1;
                int rc = faccess(1, call, fh, buf, m, m->count, (MPI_Offset)vt_rank * D * 4, &bytes);
                snprintf(what, sizeof what, "%s, %s memory, %s buffers", wname[call], m->name, places[p]);
                VT_ASSERT(rc == MPI_SUCCESS, "%s: error %d", what, rc);
                VT_ASSERT(bytes == D * 4, "%s: the statuses report %lld bytes, expected %d", what, (long long)bytes, D * 4);
                vt_check(what, buf, img, m->bytes); /* the buffer is unchanged */
                MPI_File_close(&fh);
                vt_free(buf);
                MPI_Barrier(MPI_COMM_WORLD);
                if (vt_rank == 0) {
                    size_t n = read_file(name, got, fsize + 16);
                    VT_ASSERT(n == fsize, "%s: file has %zu bytes, expected %zu", what, n, fsize);
                    VT_ASSERT(n < fsize || !memcmp(got, expect, fsize), "%s: file content differs from the data written", what);
                    if (p == 0) {
                        memcpy(ref, got, fsize);
                    } else {
                        strcat(what, ": file against the host run's");
                        vt_check(what, got, ref, fsize);
                    }
                }
            }
            free(img);
        }
    free(expect), free(got), free(ref);
}

/* ---- reads ---- */

#define TAIL 40
static char src_name[600];
static unsigned char *src_data;
static size_t src_size;

static void make_source(void) {
    snprintf(src_name, sizeof src_name, "%s/source.dat", dir);
    src_size = (size_t)vt_size * D * 4 + TAIL;
    src_data = malloc(src_size);
    vt_pattern(src_data, src_size, 4242);
    if (vt_rank == 0) {
        FILE *f = fopen(src_name, "wb");
        fwrite(src_data, 1, src_size, f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void test_reads(void) {
    char what[200];
    for (int call = 0; call < NCALLS; call++)
        for (int t = 0; t < 2; t++) {
            if (is_nb(call) ? !nb_reads : !others) continue;
            const memtype_t *m = &mt[t];
            unsigned char *expect = malloc(m->bytes);
            memset(expect, VT_MARK, m->bytes);
            scatter_data(m, src_data + (size_t)vt_rank * D * 4, D * 4, expect);
            for (int p = 0; p < 3; p++) {
                MPI_File fh = open_file(src_name, MPI_MODE_RDONLY, MPI_COMM_WORLD);
                void *buf = vt_make(place_of(p), m->bytes, 0);
                MPI_Count bytes = -1;
                int rc = faccess(0, call, fh, buf, m, m->count, (MPI_Offset)vt_rank * D * 4, &bytes);
                snprintf(what, sizeof what, "%s, %s memory, %s buffers", rname[call], m->name, places[p]);
                VT_ASSERT(rc == MPI_SUCCESS, "%s: error %d", what, rc);
                VT_ASSERT(bytes == D * 4, "%s: the statuses report %lld bytes, expected %d", what, (long long)bytes, D * 4);
                vt_check(what, buf, expect, m->bytes);
                MPI_File_close(&fh);
                vt_free(buf);
            }
            free(expect);
        }
}

/* ---- a file view with a derived filetype ---- */

static void test_view(void) {
    /* rank r owns blocks of 4 ints at (4 * size * k + 4 * r) ints, k = 0 .. D/4 - 1 */
    MPI_Datatype ft, ftr;
    MPI_Type_vector(D / 4, 4, 4 * vt_size, MPI_INT, &ft);
    MPI_Type_create_resized(ft, 0, (MPI_Aint)D * vt_size * 4, &ftr);
    MPI_Type_commit(&ftr);
    MPI_Type_free(&ft);
    size_t fsize = (size_t)vt_size * D * 4;
    unsigned char *expect = malloc(fsize), *got = malloc(fsize + 16), *ref = malloc(fsize + 16);
    char name[600], what[200];
    for (int t = 0; t < 2; t++) {
        const memtype_t *m = &mt[t];
        unsigned char *img = malloc(m->bytes), *data = malloc(D * 4);
        for (int r = 0; r < vt_size; r++) {
            vt_pattern(img, m->bytes, wseed(99, t, r));
            gather_data(m, img, m->count, data);
            for (int k = 0; k < D / 4; k++) memcpy(expect + ((size_t)4 * vt_size * k + 4 * r) * 4, data + k * 16, 16);
        }
        vt_pattern(img, m->bytes, wseed(99, t, vt_rank));
        for (int p = 0; p < 3; p++) {
            for (int how = 0; how < 2; how++) { /* Write_all, or Iwrite_at in two halves (offsets in etypes) */
                file_name(name, sizeof name, "view", how, t, p);
                MPI_File fh = open_file(name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_COMM_WORLD);
                MPI_File_set_view(fh, (MPI_Offset)vt_rank * 16, MPI_INT, ftr, "native", MPI_INFO_NULL);
                void *buf = vt_alloc(place_of(p), m->bytes);
                vt_put(buf, img, m->bytes);
                MPI_Count bytes;
                offset_unit = 4;
                int rc = faccess(1, how == 0 ? C_ALL : C_I_AT, fh, buf, m, m->count, 0, &bytes);
                offset_unit = 1;
                snprintf(what, sizeof what, "%s through a view, %s memory, %s buffers", how ? "MPI_File_iwrite_at" : "MPI_File_write_all",
                         m->name, places[p]);
                VT_ASSERT(rc == MPI_SUCCESS && bytes == D * 4, "%s: error %d, %lld bytes", what, rc, (long long)bytes);
                MPI_File_sync(fh);
                MPI_Barrier(MPI_COMM_WORLD);
                if (vt_rank == 0) {
                    size_t n = read_file(name, got, fsize + 16);
                    VT_ASSERT(n == fsize && !memcmp(got, expect, fsize), "%s: file content (%zu bytes) differs", what, n);
                    if (p == 0) memcpy(ref, got, fsize);
                    else vt_check(what, got, ref, fsize);
                }
                /* read it back through the view: whole, then the second half at an etype offset */
                void *rbuf = vt_make(place_of(p), m->bytes, 0);
                MPI_File_seek(fh, 0, MPI_SEEK_SET);
                rc = MPI_File_read_all(fh, rbuf, m->count, m->dt, MPI_STATUS_IGNORE);
                unsigned char *e = malloc(m->bytes);
                memcpy(e, img, m->bytes);
                for (int x = 0; x < m->count && m->ext > m->esize; x++) memset(e + x * m->ext + m->esize, VT_MARK, m->ext - m->esize);
                strcat(what, ", read back with MPI_File_read_all");
                VT_ASSERT(rc == MPI_SUCCESS, "%s: error %d", what, rc);
                vt_check(what, rbuf, e, m->bytes);
                vt_free(rbuf);
                rbuf = vt_make(place_of(p), m->bytes, 0);
                int half = m->count / 2;
                rc = MPI_File_read_at_all(fh, (MPI_Offset)half * m->esize / 4, rbuf, m->count - half, m->dt, MPI_STATUS_IGNORE);
                memset(e, VT_MARK, m->bytes);
                {
                    unsigned char *mydata = malloc(D * 4);
                    gather_data(m, img, m->count, mydata);
                    scatter_data(m, mydata + (size_t)half * m->esize, (size_t)(m->count - half) * m->esize, e);
                    free(mydata);
                }
                VT_ASSERT(rc == MPI_SUCCESS, "%s: read_at_all error %d", what, rc);
                vt_check("second half through the view with MPI_File_read_at_all", rbuf, e, m->bytes);
                free(e);
                vt_free(rbuf);
                MPI_File_close(&fh);
                vt_free(buf);
            }
        }
        free(img), free(data);
    }
    MPI_Type_free(&ftr);
    free(expect), free(got), free(ref);
}

/* ---- short reads at the end of the file ---- */

static int eof_notes;

static void test_eof(void) {
    char what[200];
    const int want = 64; /* ints asked for; TAIL (or TAIL - 2) bytes remain */
    for (int t = 0; t < 2; t++) {
        const memtype_t *m = &mt[t];
        int count = m->dt == MPI_INT ? want : want / 3;
        size_t membytes = (size_t)count * m->ext;
        for (int partial = 0; partial < 2; partial++) {
            MPI_Offset off = (MPI_Offset)vt_size * D * 4 + 2 * partial;
            size_t left = TAIL - 2 * partial;
            unsigned char *e = malloc(membytes), *known = malloc(membytes), *got = malloc(membytes);
            static const int calls[] = {C_AT, C_I_AT, C_AT_ALL_SPLIT, C_PLAIN};
            for (int ci = 0; ci < 4; ci++) {
                int call = calls[ci];
                if (is_nb(call) ? !nb_reads : !others) continue;
#ifdef OPEN_MPI
                /* Open MPI 4.1 (OMPIO) never completes a nonblocking or split collective read that reaches
                 * the end of the file, with host buffers too: there is nothing to compare with. */
                if (is_nb(call) || call == C_AT_ALL_SPLIT) continue;
#endif
                MPI_Count host_bytes = -1;
                for (int p = 0; p < 3; p++) {
                    MPI_File fh = open_file(src_name, MPI_MODE_RDONLY, MPI_COMM_WORLD);
                    void *buf = vt_make(place_of(p), membytes, 0);
                    MPI_Count bytes = -1;
                    int rc = faccess(0, call, fh, buf, m, count, off, &bytes);
                    snprintf(what, sizeof what, "%s at the end of the file (%zu bytes left), %s memory, %s buffers", rname[call], left,
                             m->name, places[p]);
                    VT_ASSERT(rc == MPI_SUCCESS, "%s: error %d", what, rc);
                    if (p == 0) {
                        host_bytes = bytes;
                        /* What was read lands in the buffer, the holes keep the marker; when the MPI reports the
                         * short count, the rest keeps the marker too. ROMIO (MPICH) reports the whole request
                         * for strided memory and for collective reads, and fills the rest with whatever its
                         * own buffers held: those bytes are not compared. */
                        memset(e, VT_MARK, membytes);
                        scatter_data(m, src_data + off, left, e);
                        memset(known, 1, membytes);
                        if (bytes != (MPI_Count)left) {
                            scatter_data(m, src_data + off, left, known); /* nonzero anyway */
                            for (size_t b = left; b < (size_t)count * m->esize; b++) known[(b / m->esize) * m->ext + b % m->esize] = 0;
                            if (!eof_notes++ && vt_rank == 0)
                                printf("note: %s reports %lld bytes for a read of %zu bytes at the end of the file (%s memory)\n",
                                       rname[call], (long long)bytes, left, m->name);
                        }
                    }
                    VT_ASSERT(bytes == host_bytes, "%s: %lld bytes read, the host run read %lld", what, (long long)bytes,
                              (long long)host_bytes);
                    vt_get(got, buf, membytes);
                    size_t bad = membytes;
                    for (size_t b = 0; b < membytes && bad == membytes; b++)
                        if (known[b] && got[b] != e[b]) bad = b;
                    VT_ASSERT(bad == membytes, "%s: byte %zu of %zu is 0x%02x, expected 0x%02x", what, bad, membytes,
                              bad < membytes ? got[bad] : 0, bad < membytes ? e[bad] : 0);
                    MPI_File_close(&fh);
                    vt_free(buf);
                }
#ifdef OPEN_MPI
                VT_ASSERT(host_bytes == (MPI_Count)left, "Open MPI: %s at the end of the file read %lld bytes, expected %zu", rname[call],
                          (long long)host_bytes, left);
#else
                if (m->dt == MPI_INT && call != C_AT_ALL_SPLIT)
                    VT_ASSERT(host_bytes == (MPI_Count)left, "MPICH: %s at the end of the file read %lld bytes, expected %zu",
                              rname[call], (long long)host_bytes, left);
#endif
            }
            free(e), free(known), free(got);
        }
    }
}

/* ---- two split collectives at once, on two files ---- */

static void test_two_splits(void) {
    char name[600];
    const memtype_t *m = &mt[1];
    unsigned char *img = malloc(m->bytes), *e = malloc(m->bytes);
    vt_pattern(img, m->bytes, 777 + vt_rank);
    memset(e, VT_MARK, m->bytes);
    scatter_data(m, src_data + (size_t)vt_rank * D * 4, D * 4, e);
    snprintf(name, sizeof name, "%s/two_splits.dat", dir);
    MPI_File fa = open_file(name, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_COMM_WORLD);
    MPI_File fb = open_file(src_name, MPI_MODE_RDONLY, MPI_COMM_WORLD);
    void *wb = vt_alloc('v', m->bytes), *rb = vt_make('v', m->bytes, 0);
    vt_put(wb, img, m->bytes);
    MPI_Status sa, sb;
    int rc1 = MPI_File_write_at_all_begin(fa, (MPI_Offset)vt_rank * D * 4, wb, m->count, m->dt);
    int rc2 = MPI_File_read_at_all_begin(fb, (MPI_Offset)vt_rank * D * 4, rb, m->count, m->dt);
    int rc3 = MPI_File_read_at_all_end(fb, rb, &sb);
    int rc4 = MPI_File_write_at_all_end(fa, wb, &sa);
    VT_ASSERT(rc1 == 0 && rc2 == 0 && rc3 == 0 && rc4 == 0, "two split collectives: errors %d %d %d %d", rc1, rc2, rc3, rc4);
    vt_check("read split collective while a write one is in progress on another file", rb, e, m->bytes);
    MPI_File_close(&fa);
    MPI_File_close(&fb);
    MPI_Barrier(MPI_COMM_WORLD);
    unsigned char *got = malloc(D * 4), *data = malloc(D * 4);
    FILE *f = fopen(name, "rb");
    fseek(f, (long)vt_rank * D * 4, SEEK_SET);
    size_t n = fread(got, 1, D * 4, f);
    fclose(f);
    gather_data(m, img, m->count, data);
    VT_ASSERT(n == D * 4 && !memcmp(got, data, D * 4), "write split collective with another in progress: file differs");
    vt_free(wb), vt_free(rb);
    free(img), free(e), free(got), free(data);
}

/* ---- nothing staged twice ---- */

static void test_staged_once(void) {
    if (!mpive_stats) return; /* not preloaded */
    char name[600];
    snprintf(name, sizeof name, "%s/once.dat", dir);
    MPI_File fh = open_file(name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_COMM_WORLD);
    void *buf = vt_make('v', D * 4, 5);
    static const int calls[] = {C_PLAIN, C_AT, C_AT_ALL, C_ALL, C_SHARED, C_ORDERED, C_ALL_SPLIT, C_AT_ALL_SPLIT, C_ORDERED_SPLIT,
                                C_I, C_I_AT, C_I_ALL, C_I_AT_ALL};
    for (int ci = 0; ci < (int)(sizeof calls / sizeof *calls); ci++)
        for (int wr = 1; wr >= 0; wr--) {
            if (!wr && is_nb(calls[ci])) continue; /* nonblocking reads: their own section */
            MPI_Count bytes;
            unsigned n = is_nb(calls[ci]) ? 2 : 1; /* two requests of half the data */
            mpive_stats_t a = stats_now();
            faccess(wr, calls[ci], fh, buf, &mt[0], D, (MPI_Offset)vt_rank * D * 4, &bytes);
            mpive_stats_t b = stats_now();
            const char *nm = wr ? wname[calls[ci]] : rname[calls[ci]];
            VT_ASSERT(b.staged_calls - a.staged_calls == n && b.copies - a.copies == n && b.copied_bytes - a.copied_bytes == D * 4,
                      "%s of %d bytes from VE memory: %llu staged calls, %llu copies of %llu bytes", nm, D * 4,
                      (unsigned long long)(b.staged_calls - a.staged_calls), (unsigned long long)(b.copies - a.copies),
                      (unsigned long long)(b.copied_bytes - a.copied_bytes));
        }
    /* host buffers are not staged */
    {
        int hostbuf[D];
        MPI_Count bytes;
        mpive_stats_t a = stats_now();
        faccess(1, C_AT_ALL, fh, hostbuf, &mt[0], D, (MPI_Offset)vt_rank * D * 4, &bytes);
        mpive_stats_t b = stats_now();
        VT_ASSERT(b.staged_calls == a.staged_calls && b.copies == a.copies, "a host write was staged");
    }
    MPI_File_close(&fh);
    vt_free(buf);
}

/* ---- errors ---- */

static int handler_calls, handler_class;
static void file_handler(MPI_File *fh, int *code, ...) {
    (void)fh;
    handler_calls++;
    MPI_Error_class(*code, &handler_class);
}

static void test_errors(void) {
    char name[600];
    snprintf(name, sizeof name, "%s/errors_%d.dat", dir, vt_rank);
    /* MPI_COMM_WORLD keeps MPI_ERRORS_ARE_FATAL: file errors must go through the file's handler */
    MPI_File fh = open_file(name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_COMM_SELF);
    MPI_Errhandler eh;
    MPI_File_get_errhandler(fh, &eh);
    VT_ASSERT(eh == MPI_ERRORS_RETURN, "the default file error handler is not MPI_ERRORS_RETURN");
    MPI_Errhandler_free(&eh);
    int data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    MPI_File_write_at(fh, 0, data, 16, MPI_INT, MPI_STATUS_IGNORE);
    MPI_Status st;
    MPI_Request rq;

    vt_expect_error("MPI_File_write from an unallocated VE address", MPI_File_write_at(fh, 0, vt_fake_ve(), 4, MPI_INT, &st),
                 MPI_ERR_BUFFER, "MPI_File_write_at");
    vt_expect_error("MPI_File_write (individual pointer)", MPI_File_write(fh, vt_fake_ve(), 4, MPI_INT, &st), MPI_ERR_BUFFER,
                 "MPI_File_write");
    vt_expect_error("MPI_File_read into an unallocated VE address", MPI_File_read_at(fh, 0, vt_fake_ve(), 4, MPI_INT, &st),
                 MPI_ERR_BUFFER, "MPI_File_read_at");
    vt_expect_error("MPI_File_iwrite from an unallocated VE address", MPI_File_iwrite_at(fh, 0, vt_fake_ve(), 4, MPI_INT, &rq),
                 MPI_ERR_BUFFER, "MPI_File_iwrite_at");
    int rc;
    vt_expect_error("MPI_File_write_all_begin from an unallocated VE address",
                 MPI_File_write_all_begin(fh, vt_fake_ve(), 4, MPI_INT), MPI_ERR_BUFFER, "MPI_File_write_all_begin");
    /* the end part of a split collective reports a copy-back failure */
    rc = MPI_File_read_at_all_begin(fh, 0, vt_fake_ve(), 4, MPI_INT);
    VT_ASSERT(rc == MPI_SUCCESS, "MPI_File_read_at_all_begin into an unallocated VE address failed at once: %d", rc);
    if (rc == MPI_SUCCESS)
        vt_expect_error("MPI_File_read_at_all_end into an unallocated VE address", MPI_File_read_at_all_end(fh, vt_fake_ve(), &st),
                     MPI_ERR_BUFFER, "MPI_File_read_at_all_end");
    /* an end part without its begin part */
    void *ve = vt_make('v', 64, 3);
    rc = MPI_File_read_all_end(fh, ve, &st);
    VT_ASSERT(rc != MPI_SUCCESS, "MPI_File_read_all_end without a begin succeeded");
    {
        char msg[MPI_MAX_ERROR_STRING + 1] = "";
        int len;
        MPI_Error_string(rc, msg, &len);
        VT_ASSERT(strstr(msg, "MPI_File_read_all_end") != NULL, "end without begin: \"%s\"", msg);
    }
    /* a user-defined file error handler sees the shim's errors */
    MPI_Errhandler mine;
    MPI_File_create_errhandler(file_handler, &mine);
    MPI_File_set_errhandler(fh, mine);
    rc = MPI_File_write_at(fh, 0, vt_fake_ve(), 4, MPI_INT, &st);
    VT_ASSERT(handler_calls == 1 && handler_class == MPI_ERR_BUFFER, "user file handler called %d times with class %d (rc %d)",
              handler_calls, handler_class, rc);
    MPI_Errhandler_free(&mine);
    /* the file still works */
    void *back = vt_make('v', 64, 0);
    rc = MPI_File_read_at(fh, 0, back, 16, MPI_INT, &st);
    VT_ASSERT(rc == MPI_SUCCESS, "read after errors: %d", rc);
    vt_check("read after errors", back, (unsigned char *)data, 64);
    vt_free(back);
    vt_free(ve);
    MPI_File_close(&fh);
}

/* A nonblocking read fails when it completes, and the completion call reports it. */
static void test_errors_nb(void) {
    char name[600];
    snprintf(name, sizeof name, "%s/errors_nb_%d.dat", dir, vt_rank);
    MPI_File fh = open_file(name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_COMM_SELF);
    int data[16] = {0};
    MPI_Status st;
    MPI_Request rq;
    MPI_File_write_at(fh, 0, data, 16, MPI_INT, MPI_STATUS_IGNORE);
    int rc = MPI_File_iread_at(fh, 0, vt_fake_ve(), 4, MPI_INT, &rq);
    VT_ASSERT(rc == MPI_SUCCESS, "MPI_File_iread_at into an unallocated VE address failed at once: %d", rc);
    if (rc == MPI_SUCCESS) vt_expect_error("MPI_Wait of a read into an unallocated VE address", MPI_Wait(&rq, &st), MPI_ERR_BUFFER, "MPI_Wait");
    MPI_File_close(&fh);
}

static void test_fatal(void) {
    char name[600];
    snprintf(name, sizeof name, "%s/fatal_%d.dat", dir, vt_rank);
    MPI_File fh = open_file(name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_COMM_SELF);
    MPI_File_set_errhandler(fh, MPI_ERRORS_ARE_FATAL);
    MPI_File_write(fh, vt_fake_ve(), 4, MPI_INT, MPI_STATUS_IGNORE);
    fprintf(stderr, "FAIL: MPI_File_write returned under MPI_ERRORS_ARE_FATAL\n");
    vt_failures++;
}

int main(int argc, char **argv) {
    vt_init(&argc, &argv);
    if (argc < 2) {
        if (vt_rank == 0) fprintf(stderr, "usage: fileio DIR [fatal]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    dir = argv[1];
    verbose = getenv("VT_VERBOSE") != NULL;
    if (argc > 2 && !strcmp(argv[2], "fatal")) {
        test_fatal();
        return vt_finish("fileio");
    }
    MPI_Datatype c3;
    MPI_Type_contiguous(3, MPI_INT, &c3);
    MPI_Type_create_resized(c3, 0, 16, &v3);
    MPI_Type_commit(&v3);
    MPI_Type_free(&c3);
    mt[0] = (memtype_t){MPI_INT, D, 4, 4, D * 4, "contiguous"};
    mt[1] = (memtype_t){v3, D / 3, 12, 16, (size_t)(D / 3) * 16, "derived (holes)"};

    /* argv[2]: "nbreads" runs only the nonblocking reads, "no-nbreads" everything else */
    if (argc > 2) nb_reads = strcmp(argv[2], "no-nbreads") != 0, others = strcmp(argv[2], "nbreads") != 0;
    make_source();
    if (others) test_writes();
    test_reads();
    if (others) test_view();
    test_eof();
    if (others) {
        test_two_splits();
        test_staged_once();
        test_errors();
    }
    if (nb_reads) test_errors_nb();
    if (mpive_stats) {
        mpive_stats_t s = stats_now();
        VT_ASSERT(s.live_buffers == 0 && s.pending_requests == 0, "%llu staging buffers and %llu requests left at the end",
                  (unsigned long long)s.live_buffers, (unsigned long long)s.pending_requests);
    }
    MPI_Type_free(&v3);
    free(src_data);
    return vt_finish("fileio");
}
