/*
 * Helpers for the nonblocking and persistent tests (include after vetest.h).
 *
 * nb_complete(mode, n, reqs, statuses) completes n requests with one completion form, chosen by
 * `mode`, and checks what the standard says about that form on the way: the requests are placed at
 * the odd slots of a larger array whose other slots hold MPI_REQUEST_NULL and, in slot 0, an inactive
 * persistent VE receive with a derived datatype (nb_pad), so index and outcount values, null and
 * inactive entries are exercised by every call. statuses == NULL means MPI_STATUS(ES)_IGNORE;
 * otherwise status i belongs to reqs[i].
 *
 * nb_stats() reads libmpive's counters (mpive_stats, found at run time so the programs also link
 * without the shim).
 */
#ifndef NB_UTIL_H
#define NB_UTIL_H

#include <dlfcn.h>
#include <sched.h>
#include "mpive.h"

enum {
    NB_WAIT,       /* MPI_Wait on each */
    NB_TEST,       /* MPI_Test loops */
    NB_WAITANY,    /* MPI_Waitany until MPI_UNDEFINED */
    NB_TESTANY,    /* MPI_Testany loops */
    NB_WAITALL,    /* one MPI_Waitall */
    NB_TESTALL,    /* MPI_Testall loop */
    NB_WAITSOME,   /* MPI_Waitsome until MPI_UNDEFINED */
    NB_TESTSOME,   /* MPI_Testsome loops */
    NB_GETSTATUS,  /* MPI_Request_get_status loops, then MPI_Wait: the later Wait copies nothing */
    NB_MODES
};
static const char *const nb_mode_names[NB_MODES] = {"Wait",    "Test",     "Waitany",  "Testany",          "Waitall",
                                                   "Testall", "Waitsome", "Testsome", "Request_get_status"};

/* -------- counters -------- */

static mpive_stats_t nb_stats(void) {
    static int (*fn)(mpive_stats_t *);
    static int looked;
    mpive_stats_t s;
    memset(&s, 0, sizeof s);
    if (!looked) {
        fn = (int (*)(mpive_stats_t *))dlsym(RTLD_DEFAULT, "mpive_stats");
        looked = 1;
    }
    if (fn) fn(&s);
    return s;
}

static int nb_have_shim(void) {
    return dlsym(RTLD_DEFAULT, "mpive_stats") != NULL;
}

/* -------- the padding request: an inactive persistent VE receive of a vector type -------- */

#define NB_PAD_N 48 /* ints in the pad's buffer */
static MPI_Request nb_pad = MPI_REQUEST_NULL;
static MPI_Datatype nb_pad_type = MPI_DATATYPE_NULL;
static void *nb_pad_buf;
static unsigned nb_pad_seed = 4242;

static void nb_pad_init(void) {
    MPI_Type_vector(4, 3, 5, MPI_INT, &nb_pad_type);
    MPI_Type_commit(&nb_pad_type);
    nb_pad_buf = vt_make('v', NB_PAD_N * sizeof(int), nb_pad_seed);
    /* never started: only appears, inactive, in the arrays of nb_complete */
    MPI_Recv_init(nb_pad_buf, 2, nb_pad_type, MPI_ANY_SOURCE, 32000, MPI_COMM_WORLD, &nb_pad);
}

/* The application may write into an inactive request's buffer: the completion calls must not copy
 * anything into it. Called by nb_complete before and after every call. */
static void nb_pad_check(const char *when) {
    unsigned char e[NB_PAD_N * sizeof(int)];
    char what[128];
    if (nb_pad == MPI_REQUEST_NULL) return;
    vt_pattern(e, sizeof e, nb_pad_seed);
    snprintf(what, sizeof what, "inactive persistent request's VE buffer untouched (%s)", when);
    vt_check(what, nb_pad_buf, e, sizeof e);
}

static void nb_pad_refresh(void) {
    unsigned char e[NB_PAD_N * sizeof(int)];
    if (nb_pad == MPI_REQUEST_NULL) return;
    nb_pad_seed++;
    vt_pattern(e, sizeof e, nb_pad_seed);
    vt_put(nb_pad_buf, e, sizeof e);
}

static void nb_pad_free(void) {
    if (nb_pad == MPI_REQUEST_NULL) return;
    nb_pad_check("at the end");
    MPI_Request_free(&nb_pad);
    VT_ASSERT(nb_pad == MPI_REQUEST_NULL, "Request_free of an inactive request did not reset the handle");
    MPI_Type_free(&nb_pad_type);
    vt_free(nb_pad_buf);
}

/* -------- completion in every form -------- */

/* MPICH 4.0.2 does not treat an inactive persistent *collective* request as inactive: Waitany,
 * Testany, Waitsome and Testsome report it complete again, and Testall fails with
 * MPI_ERR_IN_STATUS, with or without libmpive. Set while completing such requests: the checks of
 * the calls made after everything completed are skipped, and Testall is replaced by Waitall. */
static int nb_mpich_persistent_coll;

/* An "empty" status (MPI 4.1 §3.7.3): source MPI_ANY_SOURCE, tag MPI_ANY_TAG, count 0, not cancelled. */
static int nb_status_empty(MPI_Status *st) {
    int count = -1, cancelled = -1;
    MPI_Get_count(st, MPI_BYTE, &count);
    MPI_Test_cancelled(st, &cancelled);
    return st->MPI_SOURCE == MPI_ANY_SOURCE && st->MPI_TAG == MPI_ANY_TAG && count == 0 && !cancelled;
}


/* Completes reqs[0..n) with form `mode`. persistent[i] (may be NULL) says reqs[i] is persistent: it
 * must stay allocated (not MPI_REQUEST_NULL) after completion. */
static void nb_complete_p(int mode, int n, MPI_Request *reqs, MPI_Status *sts, const int *persistent) {
    const char *mn = nb_mode_names[mode];
    int slots = 2 * n + 1, left = n, done[1024];
    MPI_Request arr[2049];
    MPI_Status st_arr[2049], one;
    int idx[2049];
    if (n > 1024) MPI_Abort(MPI_COMM_WORLD, 3);
    for (int s = 0; s < slots; s++) arr[s] = MPI_REQUEST_NULL;
    arr[0] = nb_pad;
    for (int i = 0; i < n; i++) arr[2 * i + 1] = reqs[i], done[i] = reqs[i] == MPI_REQUEST_NULL;
    for (int i = 0; i < n; i++) left -= done[i];
    nb_pad_check(mn);
#define NB_SLOT_OK(s) ((s) >= 1 && (s) < slots && (s) % 2 == 1 && !done[((s)-1) / 2])
#define NB_AFTER(s)                                                                                                       \
    do {                                                                                                                  \
        int i_ = ((s)-1) / 2;                                                                                             \
        done[i_] = 1;                                                                                                     \
        left--;                                                                                                           \
        if (!(persistent && persistent[i_]))                                                                              \
            VT_ASSERT(arr[s] == MPI_REQUEST_NULL, "%s: completed request %d not set to MPI_REQUEST_NULL", mn, i_);        \
        else                                                                                                              \
            VT_ASSERT(arr[s] != MPI_REQUEST_NULL, "%s: persistent request %d freed by completion", mn, i_);               \
    } while (0)
    switch (mode) {
    case NB_WAIT:
    case NB_TEST:
    case NB_GETSTATUS:
        for (int i = 0; i < n; i++) {
            int s = 2 * i + 1, flag = 0;
            MPI_Status *sp = sts ? &sts[i] : MPI_STATUS_IGNORE;
            if (done[i]) continue;
            if (mode == NB_WAIT) {
                MPI_Wait(&arr[s], sp);
            } else if (mode == NB_TEST) {
                while (MPI_Test(&arr[s], &flag, sp), !flag) sched_yield();
            } else {
                while (MPI_Request_get_status(arr[s], &flag, sp), !flag) sched_yield();
                VT_ASSERT(arr[s] != MPI_REQUEST_NULL, "Request_get_status freed the request");
                /* once reported complete, the data is in VE memory: the Wait must copy nothing */
                mpive_stats_t a = nb_stats();
                MPI_Request_get_status(arr[s], &flag, MPI_STATUS_IGNORE);
                VT_ASSERT(flag, "Request_get_status: second call says not complete");
                MPI_Wait(&arr[s], MPI_STATUS_IGNORE);
                mpive_stats_t b = nb_stats();
                VT_ASSERT(b.copies == a.copies, "Request_get_status then Wait: %llu more copies after completion was reported",
                          (unsigned long long)(b.copies - a.copies));
                /* (the two statuses are not compared: a send's status fields are undefined) */
            }
            NB_AFTER(s);
        }
        break;
    case NB_WAITANY:
    case NB_TESTANY:
        while (left > 0) {
            int s = -1, flag = 0;
            MPI_Status *sp = sts ? &one : MPI_STATUS_IGNORE;
            if (mode == NB_WAITANY) {
                MPI_Waitany(slots, arr, &s, sp);
                flag = 1;
            } else {
                MPI_Testany(slots, arr, &s, &flag, sp);
            }
            if (!flag) {
                VT_ASSERT(s == MPI_UNDEFINED, "%s: flag 0 but index %d", mn, s);
                sched_yield();
                continue;
            }
            VT_ASSERT(NB_SLOT_OK(s), "%s: index %d is not a pending request (of %d slots)", mn, s, slots);
            if (!NB_SLOT_OK(s)) break;
            if (sts) sts[(s - 1) / 2] = one;
            NB_AFTER(s);
        }
        {
            int s = 12345, flag = 0;
            MPI_Status e;
            if (mode == NB_WAITANY) {
                MPI_Waitany(slots, arr, &s, &e);
                flag = 1;
            } else {
                MPI_Testany(slots, arr, &s, &flag, &e);
            }
            /* only null and inactive requests left (unless persistent ones were completed) */
            int active_left = 0;
            for (int i = 0; i < n; i++) active_left |= !done[i];
#ifdef MPICH_VERSION
            /* MPICH 4.0's Testany leaves the status alone when no request is active (with or without
             * libmpive): the standard asks for an empty status */
            if (mode == NB_TESTANY) e.MPI_SOURCE = MPI_ANY_SOURCE, e.MPI_TAG = MPI_ANY_TAG, MPI_Status_set_cancelled(&e, 0), MPI_Status_set_elements(&e, MPI_BYTE, 0);
#endif
            if (!active_left && !nb_mpich_persistent_coll) {
                VT_ASSERT(flag && s == MPI_UNDEFINED && nb_status_empty(&e),
                          "%s with no active request: flag %d index %d (expected 1, MPI_UNDEFINED, empty status)", mn, flag, s);
            }
        }
        break;
    case NB_WAITALL:
    case NB_TESTALL: {
        int flag = 0;
        for (int s = 0; s < slots; s++) st_arr[s].MPI_SOURCE = -777;
        if (mode == NB_WAITALL) {
            MPI_Waitall(slots, arr, sts ? st_arr : MPI_STATUSES_IGNORE);
        } else {
            while (MPI_Testall(slots, arr, &flag, sts ? st_arr : MPI_STATUSES_IGNORE), !flag) sched_yield();
        }
        for (int i = 0; i < n; i++) {
            if (done[i]) continue;
            if (sts) sts[i] = st_arr[2 * i + 1];
            NB_AFTER(2 * i + 1);
        }
        if (sts) {
            for (int s = 0; s < slots; s += 2)
                VT_ASSERT(nb_status_empty(&st_arr[s]), "%s: status of null/inactive slot %d is not empty (source %d)", mn, s,
                          st_arr[s].MPI_SOURCE);
        }
        break;
    }
    case NB_WAITSOME:
    case NB_TESTSOME:
        while (left > 0) {
            int out = -1;
            if (mode == NB_WAITSOME)
                MPI_Waitsome(slots, arr, &out, idx, sts ? st_arr : MPI_STATUSES_IGNORE);
            else
                MPI_Testsome(slots, arr, &out, idx, sts ? st_arr : MPI_STATUSES_IGNORE);
            VT_ASSERT(out != MPI_UNDEFINED && out >= 0 && out <= left && (mode == NB_TESTSOME || out > 0),
                      "%s: outcount %d with %d pending", mn, out, left);
            if (out == MPI_UNDEFINED || out < 0 || out > left) break;
            for (int k = 0; k < out; k++) {
                int s = idx[k];
                VT_ASSERT(NB_SLOT_OK(s), "%s: index %d is not a pending request", mn, s);
                if (!NB_SLOT_OK(s)) {
                    left = 0;
                    break;
                }
                if (sts) sts[(s - 1) / 2] = st_arr[k];
                NB_AFTER(s);
            }
            if (out == 0) sched_yield();
        }
        {
            int out = 12345, active_left = 0;
            for (int i = 0; i < n; i++) active_left |= !done[i];
            if (mode == NB_WAITSOME)
                MPI_Waitsome(slots, arr, &out, idx, MPI_STATUSES_IGNORE);
            else
                MPI_Testsome(slots, arr, &out, idx, MPI_STATUSES_IGNORE);
            if (!active_left && !nb_mpich_persistent_coll)
                VT_ASSERT(out == MPI_UNDEFINED, "%s with no active request: outcount %d", mn, out);
        }
        break;
    }
#undef NB_SLOT_OK
#undef NB_AFTER
    for (int i = 0; i < n; i++) reqs[i] = arr[2 * i + 1];
    nb_pad_check(mn);
}

static void nb_complete(int mode, int n, MPI_Request *reqs, MPI_Status *sts) {
    nb_complete_p(mode, n, reqs, sts, NULL);
}

/* A rotating completion form for code that completes one request at a time; every other round
 * with a status. */
static int nb_rot;

static void nb_done_p(MPI_Request *r, int persistent) {
    MPI_Status st;
    static int forced = -2;
    if (forced == -2) forced = getenv("NB_MODE") ? atoi(getenv("NB_MODE")) : -1; /* for debugging */
    int mode = forced >= 0 ? forced : nb_rot % NB_MODES, with_status = nb_rot / NB_MODES % 2;
    nb_rot++;
    if (nb_mpich_persistent_coll && mode == NB_TESTALL) mode = NB_WAITALL;
    nb_complete_p(mode, 1, r, with_status ? &st : NULL, &persistent);
}

static void nb_done(MPI_Request *r) {
    nb_done_p(r, 0);
}

/* One source for blocking, nonblocking and persistent collectives (coll_blocking.c, intercomm.c):
 * COLL(Bcast, Ibcast, args...) is MPI_Bcast(args...) in the blocking build; with -DNONBLOCKING,
 * MPI_Ibcast(args..., &req) completed by a rotating completion form; with -DPERSISTENT (MPI-4),
 * MPI_Bcast_init(args..., MPI_INFO_NULL, &req), MPI_Start, completion and MPI_Request_free. */
#if defined(PERSISTENT)
/* The MPICH family (MPICH, Intel MPI), told at run time: a standard-ABI build (mpi_abi.h) defines no
 * MPICH_VERSION, and the library's bug above is the same there. */
static int nb_mpich_family(void) {
    static int known = -1;
    if (known < 0) {
        char v[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = 0;
        MPI_Get_library_version(v, &len);
        known = strstr(v, "MPICH") != NULL || strstr(v, "Intel(R) MPI") != NULL;
    }
    return known;
}
#define NB_MPICH_PERSISTENT_COLL nb_mpich_family()
#define COLL(b, nb, ...)                                            \
    do {                                                            \
        MPI_Request coll_req_;                                      \
        MPI_##b##_init(__VA_ARGS__, MPI_INFO_NULL, &coll_req_);     \
        MPI_Start(&coll_req_);                                      \
        nb_mpich_persistent_coll = NB_MPICH_PERSISTENT_COLL;        \
        nb_done_p(&coll_req_, 1);                                   \
        nb_mpich_persistent_coll = 0;                               \
        MPI_Request_free(&coll_req_);                               \
    } while (0)
#define COLL_KIND "persistent"
#elif defined(NONBLOCKING)
#define COLL(b, nb, ...)                                            \
    do {                                                            \
        MPI_Request coll_req_;                                      \
        MPI_##nb(__VA_ARGS__, &coll_req_);                          \
        nb_done(&coll_req_);                                        \
    } while (0)
#define COLL_KIND "nonblocking"
#endif

#endif
