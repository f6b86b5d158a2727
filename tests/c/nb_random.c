/*
 * Randomized nonblocking traffic: usage nb_random SEED PLACEMENT DUMP
 *
 * In every round each rank posts, in a random order, its share of a random plan that all ranks draw
 * from the same seed: messages between any two ranks (itself included) posted with Isend, Issend,
 * Isend + Request_free, or a one-shot Send_init + Start, received with Irecv (from the source or
 * MPI_ANY_SOURCE) or Recv_init + Start, of ints, bytes or a vector type with holes, short or exact,
 * small or past the eager limits; and nonblocking collectives (Iallreduce, Ibcast, Ialltoall,
 * Igatherv) in the same order on all ranks. Then it completes them with a random mix of Wait, Test,
 * Waitany, Testany, Waitall, Testall, Waitsome, Testsome and Request_get_status over random subsets
 * padded with MPI_REQUEST_NULL, with and without statuses; statuses are checked against the plan.
 *
 * PLACEMENT puts every buffer in host memory (h, the reference), in VE memory (v), or picks per buffer
 * (m). Every receive and collective result buffer, markers included, is written to DUMP.<rank> in plan
 * order: runs with the same seed must produce identical files. Received messages are also checked
 * against their expected contents here.
 */
#include "vetest.h"
#include "nb_util.h"

enum { OP_SEND, OP_RECV, OP_COLL };
enum { S_ISEND, S_ISSEND, S_FREED, S_INIT, S_KINDS };
enum { R_IRECV, R_ANY, R_INIT, R_KINDS };
enum { C_ALLREDUCE, C_BCAST, C_ALLTOALL, C_GATHERV, C_KINDS };
enum { T_INT, T_BYTE, T_VEC };

struct op {
    int type, kind, id, peer, tag, dtk, count, sent, root, in_place;
    MPI_Datatype dt;
    size_t bytes, bytes2;
    void *buf, *buf2;
    MPI_Request req;
    int persistent, pending;
    unsigned seed;
    int *counts, *displs;
};

static MPI_Datatype vec;
static MPI_Aint vec_ext;
static char placement;
static FILE *dump;
static void **keep; /* send buffers, freed at the end: a freed Isend may still be reading */
static int nkeep, capkeep;

/* splitmix64 */
static unsigned long long rng_next(unsigned long long *s) {
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int rnd(unsigned long long *s, int n) {
    return (int)(rng_next(s) % (unsigned long long)n);
}

static unsigned long long place_rng;
static char place_of(void) {
    if (placement == 'm') return rnd(&place_rng, 2) ? 'v' : 'h';
    return placement;
}

static void keep_buf(void *b) {
    if (nkeep == capkeep) keep = realloc(keep, (capkeep = capkeep ? 2 * capkeep : 64) * sizeof *keep);
    keep[nkeep++] = b;
}

static size_t type_bytes(int dtk, int count) {
    return dtk == T_INT ? count * sizeof(int) : dtk == T_BYTE ? (size_t)count : count * (size_t)vec_ext;
}

static MPI_Datatype type_of(int dtk) {
    return dtk == T_INT ? MPI_INT : dtk == T_BYTE ? MPI_BYTE : vec;
}


static int cval(int rank, int i, int round) {
    return rank * 100000 + i * 7 + round;
}

static void *make_ints(char where, int n, int rank, int round, int off) {
    int *h = malloc((n ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) h[i] = cval(rank, off + i, round);
    void *b = vt_alloc(where, n * sizeof(int));
    vt_put(b, h, n * sizeof(int));
    free(h);
    return b;
}

/* Draws the plan of one round (the same on every rank) and returns this rank's operations. */
static int make_round(unsigned long long seed, int round, struct op *ops, int max) {
    unsigned long long plan = seed * 1000003ull + round;
    int n = 0, id = 0;
    /* messages */
    for (int src = 0; src < vt_size; src++)
        for (int dst = 0; dst < vt_size; dst++) {
            int m = rnd(&plan, 4);
            for (int k = 0; k < m; k++, id++) {
                int skind = rnd(&plan, S_KINDS), rkind = rnd(&plan, R_KINDS), dtk = rnd(&plan, 3);
                int big = rnd(&plan, 20) == 0, count;
                if (dtk == T_INT) count = big ? 70000 : rnd(&plan, 2000);
                else if (dtk == T_BYTE) count = 1 + rnd(&plan, 100);
                else count = rnd(&plan, 50);
                int extra = rnd(&plan, 3) == 0 ? 1 + rnd(&plan, 5) : 0; /* short message */
                int tag = round * 1000 + id;
                unsigned sd = (unsigned)(seed * 7919 + tag);
                if (src == vt_rank && n < max) {
                    struct op o = {OP_SEND, skind, id, dst, tag, dtk, count, count, 0, 0};
                    o.dt = type_of(dtk);
                    o.bytes = type_bytes(dtk, count);
                    o.seed = sd;
                    ops[n++] = o;
                }
                if (dst == vt_rank && n < max) {
                    struct op o = {OP_RECV, rkind, id, src, tag, dtk, count + extra, count, 0, 0};
                    o.dt = type_of(dtk);
                    o.bytes = type_bytes(dtk, count + extra);
                    o.seed = sd;
                    ops[n++] = o;
                }
            }
        }
    /* collectives, in plan order */
    int nc = rnd(&plan, 3);
    for (int c = 0; c < nc && n < max; c++, id++) {
        struct op o = {OP_COLL, rnd(&plan, C_KINDS), id, 0, 0, T_INT, 1 + rnd(&plan, 1500), 0, rnd(&plan, vt_size), rnd(&plan, 2)};
        if (o.kind == C_BCAST) o.dtk = rnd(&plan, 2) ? T_VEC : T_INT, o.count = o.count % 60;
        if (o.kind == C_ALLTOALL || o.kind == C_GATHERV) o.count = o.count % 200;
        o.dt = type_of(o.dtk);
        if (o.kind == C_GATHERV) {
            o.counts = malloc(vt_size * sizeof(int));
            o.displs = malloc(vt_size * sizeof(int));
            int d = rnd(&plan, 4);
            for (int r = 0; r < vt_size; r++) {
                o.counts[r] = rnd(&plan, 100);
                o.displs[r] = d;
                d += o.counts[r] + rnd(&plan, 4);
            }
            o.bytes2 = d * sizeof(int);
        }
        o.seed = (unsigned)(seed * 31 + round * 1000 + id);
        ops[n++] = o;
    }
    return n;
}

static void post(struct op *o, int round) {
    char pl = place_of(), pl2 = place_of();
    o->req = MPI_REQUEST_NULL;
    o->pending = 1;
    o->persistent = 0;
    switch (o->type) {
    case OP_SEND:
        o->buf = vt_make(pl, o->bytes, o->seed);
        keep_buf(o->buf);
        switch (o->kind) {
        case S_ISEND: MPI_Isend(o->buf, o->count, o->dt, o->peer, o->tag, MPI_COMM_WORLD, &o->req); break;
        case S_ISSEND: MPI_Issend(o->buf, o->count, o->dt, o->peer, o->tag, MPI_COMM_WORLD, &o->req); break;
        case S_FREED:
            MPI_Isend(o->buf, o->count, o->dt, o->peer, o->tag, MPI_COMM_WORLD, &o->req);
            MPI_Request_free(&o->req);
            VT_ASSERT(o->req == MPI_REQUEST_NULL, "Request_free did not reset the handle");
            o->pending = 0;
            break;
        default:
            MPI_Send_init(o->buf, o->count, o->dt, o->peer, o->tag, MPI_COMM_WORLD, &o->req);
            MPI_Start(&o->req);
            o->persistent = 1;
        }
        break;
    case OP_RECV:
        o->buf = vt_make(pl, o->bytes, 0);
        switch (o->kind) {
        case R_IRECV: MPI_Irecv(o->buf, o->count, o->dt, o->peer, o->tag, MPI_COMM_WORLD, &o->req); break;
        case R_ANY: MPI_Irecv(o->buf, o->count, o->dt, MPI_ANY_SOURCE, o->tag, MPI_COMM_WORLD, &o->req); break;
        default:
            MPI_Recv_init(o->buf, o->count, o->dt, o->peer, o->tag, MPI_COMM_WORLD, &o->req);
            MPI_Start(&o->req);
            o->persistent = 1;
        }
        break;
    default: {
        int n = o->count;
        const void *sb;
        switch (o->kind) {
        case C_ALLREDUCE:
            o->bytes = n * sizeof(int);
            if (o->in_place) {
                o->buf = make_ints(pl2, n, vt_rank, round, 0);
                o->buf2 = NULL;
                sb = MPI_IN_PLACE;
            } else {
                o->buf2 = make_ints(pl, n, vt_rank, round, 0);
                o->buf = vt_make(pl2, o->bytes, 0);
                sb = o->buf2;
            }
            MPI_Iallreduce(sb, o->buf, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &o->req);
            break;
        case C_BCAST:
            o->bytes = type_bytes(o->dtk, n);
            o->buf = vt_make(pl, o->bytes, vt_rank == o->root ? o->seed : 0);
            o->buf2 = NULL;
            MPI_Ibcast(o->buf, n, o->dt, o->root, MPI_COMM_WORLD, &o->req);
            break;
        case C_ALLTOALL:
            o->bytes = n * vt_size * sizeof(int);
            o->buf2 = make_ints(pl, n * vt_size, vt_rank, round, 0);
            o->buf = vt_make(pl2, o->bytes, 0);
            MPI_Ialltoall(o->buf2, n, MPI_INT, o->buf, n, MPI_INT, MPI_COMM_WORLD, &o->req);
            break;
        default:
            o->bytes = o->bytes2;
            o->buf2 = make_ints(pl, o->counts[vt_rank], vt_rank, round, 0);
            o->buf = vt_make(pl2, o->bytes, 0);
            MPI_Igatherv(o->buf2, o->counts[vt_rank], MPI_INT, o->buf, o->counts, o->displs, MPI_INT, o->root, MPI_COMM_WORLD,
                         &o->req);
        }
    }
    }
}

static void check_status(struct op *o, MPI_Status *st) {
    int got = -1;
    if (o->type != OP_RECV) return;
    MPI_Get_count(st, o->dt, &got);
    VT_ASSERT(st->MPI_SOURCE == o->peer && st->MPI_TAG == o->tag && got == o->sent,
              "message %d: status source %d tag %d count %d, expected %d %d %d", o->id, st->MPI_SOURCE, st->MPI_TAG, got, o->peer,
              o->tag, o->sent);
}

static void finished(struct op *o, MPI_Status *st) {
    o->pending = 0;
    if (st) check_status(o, st);
    if (o->persistent) {
        VT_ASSERT(o->req != MPI_REQUEST_NULL, "persistent request freed by its completion");
        MPI_Request_free(&o->req);
    } else {
        VT_ASSERT(o->req == MPI_REQUEST_NULL, "completed request %d not reset to MPI_REQUEST_NULL", o->id);
    }
}

/* Completes every pending operation with random completion calls over random subsets. */
static void complete_all(struct op *ops, int n, unsigned long long *crng) {
    struct op *pend[512];
    MPI_Request arr[1024];
    MPI_Status sts[1024];
    int idx[1024], slot_of[1024];
    for (;;) {
        int np = 0;
        for (int i = 0; i < n; i++)
            if (ops[i].pending) pend[np++] = &ops[i];
        if (!np) return;
        /* a random subset of up to 6, in random slots among nulls */
        int k = 1 + rnd(crng, np < 6 ? np : 6);
        int slots = k + rnd(crng, 4);
        struct op *sel[1024];
        for (int s = 0; s < slots; s++) sel[s] = NULL, arr[s] = MPI_REQUEST_NULL;
        for (int j = 0; j < k; j++) {
            int pick = rnd(crng, np);
            struct op *o = pend[pick];
            pend[pick] = pend[--np];
            int s;
            do s = rnd(crng, slots); while (sel[s]);
            sel[s] = o;
            arr[s] = o->req;
        }
        int form = rnd(crng, NB_MODES), with_st = rnd(crng, 2), flag = 0, out = 0;
        MPI_Status *sp = with_st ? sts : MPI_STATUSES_IGNORE;
        (void)slot_of;
        switch (form) {
        case NB_WAIT:
        case NB_TEST:
        case NB_GETSTATUS:
            for (int s = 0; s < slots; s++) {
                if (!sel[s]) continue;
                MPI_Status *one = with_st ? &sts[s] : MPI_STATUS_IGNORE;
                if (form == NB_WAIT) {
                    MPI_Wait(&arr[s], one);
                    flag = 1;
                } else if (form == NB_TEST) {
                    MPI_Test(&arr[s], &flag, one);
                } else {
                    MPI_Request_get_status(arr[s], &flag, one);
                    if (flag) {
                        if (with_st) check_status(sel[s], one);
                        MPI_Wait(&arr[s], MPI_STATUS_IGNORE);
                    }
                }
                sel[s]->req = arr[s];
                if (flag) finished(sel[s], with_st && form != NB_GETSTATUS ? one : NULL);
            }
            break;
        case NB_WAITANY:
        case NB_TESTANY: {
            int s = -1;
            MPI_Status one;
            if (form == NB_WAITANY) {
                MPI_Waitany(slots, arr, &s, with_st ? &one : MPI_STATUS_IGNORE);
                flag = 1;
            } else {
                MPI_Testany(slots, arr, &s, &flag, with_st ? &one : MPI_STATUS_IGNORE);
            }
            if (flag) {
                VT_ASSERT(s >= 0 && s < slots && sel[s], "%s: index %d is not a pending request", nb_mode_names[form], s);
                if (s >= 0 && s < slots && sel[s]) {
                    sel[s]->req = arr[s];
                    finished(sel[s], with_st ? &one : NULL);
                }
            }
            break;
        }
        case NB_WAITALL:
        case NB_TESTALL:
            if (form == NB_WAITALL) {
                MPI_Waitall(slots, arr, sp);
                flag = 1;
            } else {
                MPI_Testall(slots, arr, &flag, sp);
            }
            if (flag)
                for (int s = 0; s < slots; s++)
                    if (sel[s]) {
                        sel[s]->req = arr[s];
                        finished(sel[s], with_st ? &sts[s] : NULL);
                    }
            break;
        default:
            if (form == NB_WAITSOME)
                MPI_Waitsome(slots, arr, &out, idx, sp);
            else
                MPI_Testsome(slots, arr, &out, idx, sp);
            VT_ASSERT(out != MPI_UNDEFINED && out >= 0 && out <= k, "%s: outcount %d of %d", nb_mode_names[form], out, k);
            for (int j = 0; j < out && out <= k; j++) {
                int s = idx[j];
                VT_ASSERT(s >= 0 && s < slots && sel[s], "%s: index %d is not a pending request", nb_mode_names[form], s);
                if (s >= 0 && s < slots && sel[s]) {
                    sel[s]->req = arr[s];
                    finished(sel[s], with_st ? &sts[j] : NULL);
                }
            }
        }
        if (!flag && out == 0) sched_yield();
    }
}

static void dump_and_check(struct op *ops, int n) {
    for (int i = 0; i < n; i++) {
        struct op *o = &ops[i];
        if (o->type == OP_SEND) continue;
        unsigned char *got = malloc(o->bytes ? o->bytes : 1);
        vt_get(got, o->buf, o->bytes);
        fwrite(got, 1, o->bytes, dump);
        if (o->type == OP_RECV) {
            unsigned char *e = malloc(o->bytes ? o->bytes : 1);
            char what[96];
            vt_expect_typed(e, o->bytes, 0, o->sent, o->dt, o->seed);
            snprintf(what, sizeof what, "random message %d (tag %d) from %d", o->id, o->tag, o->peer);
            vt_check(what, o->buf, e, o->bytes);
            free(e);
        }
        free(got);
        vt_free(o->buf);
        if (o->type == OP_COLL && o->buf2) vt_free(o->buf2);
        if (o->counts) free(o->counts), free(o->displs);
    }
}

int main(int argc, char **argv) {
    enum { MAXOPS = 400 };
    static struct op ops[MAXOPS];
    char path[512];
    if (argc < 4) {
        fprintf(stderr, "usage: nb_random SEED h|v|m DUMP\n");
        return 2;
    }
    vt_init(&argc, &argv);
    unsigned long long seed = strtoull(argv[1], NULL, 10);
    int rounds = argc > 4 ? atoi(argv[4]) : 12;
    placement = argv[2][0];
    snprintf(path, sizeof path, "%s.%d", argv[3], vt_rank);
    dump = fopen(path, "wb");
    if (!dump) {
        perror(path);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Type_vector(4, 2, 3, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    {
        MPI_Aint lb;
        MPI_Type_get_extent(vec, &lb, &vec_ext);
    }
    place_rng = seed * 77 + vt_rank;
    unsigned long long crng = seed * 1299709ull + vt_rank * 7ull + (placement == 'h' ? 0 : placement == 'v' ? 1 : 2);
    int total_ops = 0;
    for (int round = 0; round < rounds; round++) {
        int n = make_round(seed, round, ops, MAXOPS);
        /* post in a random order of this rank's own; collectives keep their relative order */
        unsigned long long order = seed * 104729ull + round * 31ull + vt_rank;
        int perm[MAXOPS], ncoll = 0, colls[MAXOPS];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rnd(&order, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < n; i++)
            if (ops[perm[i]].type == OP_COLL) colls[ncoll++] = perm[i];
        /* sort the collective positions' contents into plan order */
        for (int a = 0; a < ncoll; a++)
            for (int b = a + 1; b < ncoll; b++)
                if (colls[b] < colls[a]) {
                    int t = colls[a];
                    colls[a] = colls[b];
                    colls[b] = t;
                }
        for (int i = 0, c = 0; i < n; i++)
            if (ops[perm[i]].type == OP_COLL) perm[i] = colls[c++];
        for (int i = 0; i < n; i++) post(&ops[perm[i]], round);
        complete_all(ops, n, &crng);
        dump_and_check(ops, n);
        total_ops += n;
    }
    fclose(dump);
    MPI_Barrier(MPI_COMM_WORLD); /* every freed send has been received */
    for (int i = 0; i < nkeep; i++) vt_free(keep[i]);
    MPI_Type_free(&vec);
    if (vt_rank == 0) printf("nb_random: seed %llu placement %c, %d operations on rank 0\n", seed, placement, total_ops);
    return vt_finish("nb_random");
}
