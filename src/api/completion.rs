//! MPI-4.1 chapter 3, §3.7.3–§3.7.5 and §3.9: completing requests (Wait, Test and their any, all
//! and some forms, MPI_Request_get_status, MPI_Request_free) and starting persistent ones.
//!
//! While no request with VE buffers is pending, each of these forwards after one relaxed load
//! ([`crate::requests::any`]). Otherwise it notes which of its requests carry staging, calls the real
//! function (with the shim's own statuses if the application passed MPI_STATUS(ES)_IGNORE, since a
//! receive must know how much arrived), and finishes the ones that completed.
//! MPI_Cancel needs nothing: a cancelled receive is recognised at completion and copies nothing.

use crate::abi::{Class, Handle, StatusBuf};
use crate::real::abi;
use crate::requests;
use crate::stage::Inside;
use smallvec::SmallVec;
use std::ffi::{c_int, c_void};

type Req = *mut c_void;
type St = *mut c_void;

/// Runs a completion slow path with panics caught at the boundary.
fn guarded(func: &'static str, f: impl FnOnce() -> c_int) -> c_int {
    let _inside = Inside::enter();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(rc) => rc,
        Err(p) => crate::stage::finish(crate::errors::Obj::World, func, Err(p)),
    }
}

/// The requests among `reqs[0..n]` that carry staging, with their positions.
unsafe fn tracked_in(reqs: *const c_void, n: c_int) -> SmallVec<[(usize, Handle); 8]> {
    let abi = abi();
    let mut out = SmallVec::new();
    if reqs.is_null() {
        return out;
    }
    for i in 0..n.max(0) as usize {
        // SAFETY: the application passes n requests.
        let h = unsafe { abi.handle_at(reqs, i) };
        if requests::tracked(h) {
            out.push((i, h));
        }
    }
    out
}

/// A status to give the real MPI: the application's, or the shim's own when it passed IGNORE.
fn status_or_own(status: St, own: &mut StatusBuf) -> St {
    if abi().is_status_ignore(status) {
        own.as_mut_ptr()
    } else {
        status
    }
}

/// An array of `n` statuses: the application's, or the shim's own.
fn statuses_or_own(statuses: St, n: c_int, own: &mut Vec<u8>) -> St {
    let abi = abi();
    if abi.is_statuses_ignore(statuses) {
        own.resize(n.max(1) as usize * abi.status.size, 0);
        own.as_mut_ptr().cast()
    } else {
        statuses
    }
}

/// Finishes the tracked requests `done` of an array operation whose statuses are in `sts` (at the
/// request's position, or at `slot(i)`); `rc` is what the real call returned.
unsafe fn finish_array(func: &'static str, rc: c_int, done: impl Iterator<Item = (Handle, St)>) -> c_int {
    let abi = abi();
    let in_status = abi.class(Class::InStatus);
    let pending = abi.class(Class::Pending);
    let mut out = rc;
    for (h, st) in done {
        // SAFETY: st is a status the real MPI filled for this request.
        let err = if rc == in_status { unsafe { abi.status_error(st) } } else { 0 };
        if err == pending {
            continue; // not completed
        }
        if err != 0 {
            requests::fail(h);
            continue;
        }
        // SAFETY: as above.
        let r = unsafe { requests::complete(h, st, func) };
        if r != 0 && out == 0 {
            out = r;
        }
    }
    out
}

macro_rules! real {
    ($name:ident ( $($t:ident),* )) => {
        match crate::real_fn!($name($($t),*)) {
            Some(f) => f,
            None => return crate::real::missing(stringify!($name)),
        }
    };
}

/// §3.7.3
#[no_mangle]
pub unsafe extern "C" fn MPI_Wait(request: Req, status: St) -> c_int {
    let real = real!(MPI_Wait(RequestOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request, status) };
    }
    guarded("MPI_Wait", || unsafe {
        requests::progress_orphans(false);
        let h = if request.is_null() { 0 } else { abi().handle_at(request, 0) };
        if request.is_null() || !requests::tracked(h) {
            return real(request, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(request, st);
        if rc != 0 {
            requests::fail(h);
            return rc;
        }
        requests::complete(h, st, "MPI_Wait")
    })
}

/// §3.7.3
#[no_mangle]
pub unsafe extern "C" fn MPI_Test(request: Req, flag: *mut c_int, status: St) -> c_int {
    let real = real!(MPI_Test(RequestOut, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request, flag, status) };
    }
    guarded("MPI_Test", || unsafe {
        requests::progress_orphans(false);
        let h = if request.is_null() { 0 } else { abi().handle_at(request, 0) };
        if request.is_null() || flag.is_null() || !requests::tracked(h) {
            return real(request, flag, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(request, flag, st);
        if rc != 0 {
            requests::fail(h);
            return rc;
        }
        if *flag != 0 { requests::complete(h, st, "MPI_Test") } else { 0 }
    })
}

/// §3.7.5
#[no_mangle]
pub unsafe extern "C" fn MPI_Waitany(count: c_int, array: Req, index: *mut c_int, status: St) -> c_int {
    let real = real!(MPI_Waitany(Int, RequestOut, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array, index, status) };
    }
    guarded("MPI_Waitany", || unsafe {
        requests::progress_orphans(false);
        let tracked = tracked_in(array, count);
        if tracked.is_empty() || index.is_null() {
            return real(count, array, index, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(count, array, index, st);
        let i = *index;
        match tracked.iter().find(|(k, _)| *k as c_int == i) {
            Some(&(_, h)) if rc != 0 => {
                requests::fail(h);
                rc
            }
            Some(&(_, h)) => requests::complete(h, st, "MPI_Waitany"),
            None => rc,
        }
    })
}

/// §3.7.5
#[no_mangle]
pub unsafe extern "C" fn MPI_Testany(count: c_int, array: Req, index: *mut c_int, flag: *mut c_int, status: St) -> c_int {
    let real = real!(MPI_Testany(Int, RequestOut, IntOut, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array, index, flag, status) };
    }
    guarded("MPI_Testany", || unsafe {
        requests::progress_orphans(false);
        let tracked = tracked_in(array, count);
        if tracked.is_empty() || index.is_null() || flag.is_null() {
            return real(count, array, index, flag, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(count, array, index, flag, st);
        let i = *index;
        match tracked.iter().find(|(k, _)| *k as c_int == i) {
            Some(&(_, h)) if rc != 0 => {
                requests::fail(h);
                rc
            }
            Some(&(_, h)) if *flag != 0 => requests::complete(h, st, "MPI_Testany"),
            _ => rc,
        }
    })
}

/// §3.7.5
#[no_mangle]
pub unsafe extern "C" fn MPI_Waitall(count: c_int, array: Req, statuses: St) -> c_int {
    let real = real!(MPI_Waitall(Int, RequestOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array, statuses) };
    }
    guarded("MPI_Waitall", || unsafe {
        requests::progress_orphans(false);
        let tracked = tracked_in(array, count);
        if tracked.is_empty() {
            return real(count, array, statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(statuses, count, &mut own);
        let rc = real(count, array, sts);
        if rc != 0 && rc != abi().class(Class::InStatus) {
            return rc; // which requests completed is unknown: keep their staging
        }
        let abi = abi();
        finish_array("MPI_Waitall", rc, tracked.iter().map(|&(i, h)| (h, abi.status_at(sts, i))))
    })
}

/// §3.7.5
#[no_mangle]
pub unsafe extern "C" fn MPI_Testall(count: c_int, array: Req, flag: *mut c_int, statuses: St) -> c_int {
    let real = real!(MPI_Testall(Int, RequestOut, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array, flag, statuses) };
    }
    guarded("MPI_Testall", || unsafe {
        requests::progress_orphans(false);
        let tracked = tracked_in(array, count);
        if tracked.is_empty() || flag.is_null() {
            return real(count, array, flag, statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(statuses, count, &mut own);
        let rc = real(count, array, flag, sts);
        if (rc != 0 && rc != abi().class(Class::InStatus)) || (rc == 0 && *flag == 0) {
            return rc;
        }
        let abi = abi();
        finish_array("MPI_Testall", rc, tracked.iter().map(|&(i, h)| (h, abi.status_at(sts, i))))
    })
}

/// Waitsome and Testsome: the completed requests are `indices[0..outcount]`, with their statuses in
/// the same order.
unsafe fn finish_some(func: &'static str, rc: c_int, tracked: &[(usize, Handle)], outcount: *mut c_int, indices: *mut c_int, sts: St) -> c_int {
    let abi = abi();
    // SAFETY: the real call filled outcount and indices.
    let n = unsafe { *outcount };
    if n == abi.undefined || n <= 0 || indices.is_null() {
        return rc;
    }
    let done = (0..n as usize).filter_map(|k| {
        // SAFETY: as above.
        let i = unsafe { *indices.add(k) } as usize;
        tracked.iter().find(|(t, _)| *t == i).map(|&(_, h)| (h, abi.status_at(sts, k)))
    });
    // SAFETY: the statuses belong to these requests.
    unsafe { finish_array(func, rc, done) }
}

/// §3.7.5
#[no_mangle]
pub unsafe extern "C" fn MPI_Waitsome(incount: c_int, array: Req, outcount: *mut c_int, indices: *mut c_int, statuses: St) -> c_int {
    let real = real!(MPI_Waitsome(Int, RequestOut, IntOut, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(incount, array, outcount, indices, statuses) };
    }
    guarded("MPI_Waitsome", || unsafe {
        requests::progress_orphans(false);
        let tracked = tracked_in(array, incount);
        if tracked.is_empty() || outcount.is_null() {
            return real(incount, array, outcount, indices, statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(statuses, incount, &mut own);
        let rc = real(incount, array, outcount, indices, sts);
        if rc != 0 && rc != abi().class(Class::InStatus) {
            return rc;
        }
        finish_some("MPI_Waitsome", rc, &tracked, outcount, indices, sts)
    })
}

/// §3.7.5
#[no_mangle]
pub unsafe extern "C" fn MPI_Testsome(incount: c_int, array: Req, outcount: *mut c_int, indices: *mut c_int, statuses: St) -> c_int {
    let real = real!(MPI_Testsome(Int, RequestOut, IntOut, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(incount, array, outcount, indices, statuses) };
    }
    guarded("MPI_Testsome", || unsafe {
        requests::progress_orphans(false);
        let tracked = tracked_in(array, incount);
        if tracked.is_empty() || outcount.is_null() {
            return real(incount, array, outcount, indices, statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(statuses, incount, &mut own);
        let rc = real(incount, array, outcount, indices, sts);
        if rc != 0 && rc != abi().class(Class::InStatus) {
            return rc;
        }
        finish_some("MPI_Testsome", rc, &tracked, outcount, indices, sts)
    })
}

/// §3.7.6 Non-destructive test: the first call that reports completion copies back; the later
/// Wait or Test only releases the staging.
#[no_mangle]
pub unsafe extern "C" fn MPI_Request_get_status(request: Handle, flag: *mut c_int, status: St) -> c_int {
    let real = real!(MPI_Request_get_status(Request, IntOut, Status));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request, flag, status) };
    }
    guarded("MPI_Request_get_status", || unsafe {
        if flag.is_null() || !requests::tracked(request) {
            return real(request, flag, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(request, flag, st);
        if rc == 0 && *flag != 0 {
            return requests::store_early(request, st, "MPI_Request_get_status");
        }
        rc
    })
}

/// §3.7.3 Freeing an active request with staging: the shim keeps the real request and finishes it
/// itself, so the data still reaches VE memory and the staging buffers come back.
#[no_mangle]
pub unsafe extern "C" fn MPI_Request_free(request: Req) -> c_int {
    let real = real!(MPI_Request_free(RequestOut));
    if !requests::any() || crate::stage::reentered() || request.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request) };
    }
    guarded("MPI_Request_free", || unsafe {
        let abi = abi();
        let h = abi.handle_at(request, 0);
        if requests::free(h) {
            abi.set_handle_at(request, 0, abi.h.request_null);
            requests::progress_orphans(false);
            return 0;
        }
        real(request)
    })
}

/// §3.9 Persistent requests: every start stages the send buffers again.
#[no_mangle]
pub unsafe extern "C" fn MPI_Start(request: Req) -> c_int {
    let real = real!(MPI_Start(RequestOut));
    if !requests::any() || crate::stage::reentered() || request.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request) };
    }
    guarded("MPI_Start", || unsafe {
        let rc = requests::start(abi().handle_at(request, 0), "MPI_Start");
        if rc != 0 {
            return rc;
        }
        real(request)
    })
}

/// §3.9
#[no_mangle]
pub unsafe extern "C" fn MPI_Startall(count: c_int, array: Req) -> c_int {
    let real = real!(MPI_Startall(Int, RequestOut));
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array) };
    }
    guarded("MPI_Startall", || unsafe {
        for (_, h) in tracked_in(array, count) {
            let rc = requests::start(h, "MPI_Startall");
            if rc != 0 {
                return rc;
            }
        }
        real(count, array)
    })
}
