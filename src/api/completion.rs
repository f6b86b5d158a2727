//! MPI-4.1 chapter 3, §3.7.3–§3.7.5 and §3.9: completing requests (Wait, Test and their any, all
//! and some forms, MPI_Request_get_status, MPI_Request_free) and starting persistent ones.
//!
//! While no request with VE buffers exists, each of these forwards after one relaxed load
//! ([`crate::requests::any`]). Otherwise it claims the entries of its requests that carry staging
//! (one shard lookup per request), calls the real function (with the shim's own statuses if the
//! application passed MPI_STATUS(ES)_IGNORE, since a receive must know how much arrived), finishes
//! the ones that completed and puts the others back. Requests the application freed while active
//! (orphans) are progressed after every completion call.
//!
//! Errors: a copy back that fails is raised through the error handler of the operation's object, as
//! an error of the completion call. Wait, Test, Waitany and Testany then return that code; the array
//! forms with statuses (Waitall, Testall, Waitsome, Testsome) return MPI_ERR_IN_STATUS and set the
//! MPI_ERROR field of every status they return (MPI_SUCCESS, or the code for the failed requests),
//! as MPI-4.1 §3.7.5 asks. A request the real MPI reports failed (MPI_ERR_IN_STATUS with an error in
//! its status, or the error of a single-request call) copies nothing back; one reported
//! MPI_ERR_PENDING stays pending.
//!
//! MPI_Cancel needs nothing: a cancelled receive is recognised at completion and copies nothing.

use crate::abi::{Class, Request, StatusBuf};
use crate::real::abi;
use crate::requests::{self, Claim};
use crate::stage::Inside;
use smallvec::SmallVec;
use std::ffi::{c_int, c_void};

type Req = *mut c_void;
type St = *mut c_void;
type Claims = SmallVec<[(usize, Claim); 8]>;

/// Runs a completion call's slow path inside the C boundary ([`crate::ffi::boundary`], errors and
/// panics through MPI_COMM_WORLD's handler), marked as inside a staged call. Out of line, so that the
/// host path of each completion call stays a few loads and a jump.
#[cold]
#[inline(never)]
fn guarded(func: &'static str, f: impl FnOnce() -> c_int) -> c_int {
    crate::ffi::boundary(crate::errors::Obj::World, func, || {
        let _inside = Inside::enter();
        Ok(f())
    })
}

/// Claims the entries of the requests among `reqs[0..n]` that carry staging, with their positions.
///
/// # Safety
/// `reqs` is NULL or points to `n` request handles.
unsafe fn claim_in(reqs: *const c_void, n: c_int) -> Claims {
    let abi = abi();
    let null = abi.norm(abi.h.request_null);
    let mut out = Claims::new();
    if reqs.is_null() {
        return out;
    }
    for i in 0..n.max(0) as usize {
        // SAFETY: the application passes n requests.
        let h = unsafe { abi.handle_at(reqs, i) };
        if abi.norm(h) == null {
            continue;
        }
        if let Some(c) = requests::claim(Request::from_raw(h)) {
            out.push((i, c));
        }
    }
    out
}

/// Removes and returns the claim of the request at position `i`.
fn take_at(claims: &mut Claims, i: usize) -> Option<Claim> {
    let k = claims.iter().position(|(p, _)| *p == i)?;
    Some(claims.remove(k).1)
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
fn statuses_or_own(statuses: St, n: c_int, own: &mut Vec<u64>) -> St {
    let abi = abi();
    if abi.is_statuses_ignore(statuses) {
        // u64 elements: aligned for the int and size_t fields of either ABI's status
        own.resize((n.max(1) as usize * abi.status.size).div_ceil(8), 0);
        own.as_mut_ptr().cast()
    } else {
        statuses
    }
}

/// Sets the MPI_ERROR field of a status.
///
/// # Safety
/// `st` points to a writable status of the running ABI.
unsafe fn set_status_error(st: St, code: c_int) {
    // SAFETY: the field lies inside the status.
    unsafe { (st as *mut u8).add(abi().status.error).cast::<c_int>().write_unaligned(code) }
}

/// Finishes the claimed requests that an array call (Waitall, Testall, Waitsome, Testsome) returned
/// with statuses: `done` yields each request's claim and the position of its status in `sts`; `rc` is
/// what the real call returned (MPI_SUCCESS or MPI_ERR_IN_STATUS). `statuses` is the application's
/// array, and `returned` the number of statuses the call returns in it. Returns the call's result.
///
/// # Safety
/// The statuses in `sts` are the real MPI's, for these requests.
unsafe fn finish_array(func: &'static str, rc: c_int, statuses: St, sts: St, returned: usize, done: impl Iterator<Item = (Claim, usize)>) -> c_int {
    let abi = abi();
    let in_status = abi.class(Class::InStatus);
    let pending = abi.class(Class::Pending);
    let mut failed: SmallVec<[(usize, c_int); 2]> = SmallVec::new();
    for (c, k) in done {
        let st = abi.status_at(sts, k);
        // SAFETY: st is a status the real MPI filled for this request.
        let err = if rc == in_status { unsafe { abi.status_error(st) } } else { 0 };
        if err == pending {
            drop(c); // neither completed nor failed: stays pending
        } else if err != 0 {
            c.fail();
        } else {
            // SAFETY: as above.
            let r = unsafe { c.complete(st, func) };
            if r != 0 {
                failed.push((k, r));
            }
        }
    }
    if failed.is_empty() {
        return rc;
    }
    // A copy back failed: MPI_ERR_IN_STATUS, with every returned status saying how its request went.
    if !abi.is_statuses_ignore(statuses) {
        // SAFETY: the application's array holds `returned` statuses.
        unsafe {
            if rc != in_status {
                for k in 0..returned {
                    set_status_error(abi.status_at(statuses, k), 0);
                }
            }
            for &(k, code) in &failed {
                set_status_error(abi.status_at(statuses, k), code);
            }
        }
    }
    in_status
}

/// Runs a completion call's slow path, then progresses the orphans (requests freed while active),
/// whose operations the call may have driven to completion. Out of line, as [`guarded`].
#[cold]
#[inline(never)]
fn completion(func: &'static str, f: impl FnOnce() -> c_int) -> c_int {
    guarded(func, || {
        let rc = f();
        requests::progress_orphans(false);
        rc
    })
}

/// §3.7.3
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Wait(request: Req, status: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Wait(RequestOut, Status)) else { return crate::real::missing("MPI_Wait") };
    if !requests::any() || crate::stage::reentered() || request.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request, status) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Wait", || unsafe {
        let Some(c) = requests::claim(Request::from_raw(abi().handle_at(request, 0))) else { return real(request, status) };
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(request, st);
        if rc != 0 {
            c.fail();
            return rc;
        }
        c.complete(st, "MPI_Wait")
    })
}

/// §3.7.3
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Test(request: Req, flag: *mut c_int, status: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Test(RequestOut, IntOut, Status)) else { return crate::real::missing("MPI_Test") };
    if !requests::any() || crate::stage::reentered() || request.is_null() || flag.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request, flag, status) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Test", || unsafe {
        let Some(c) = requests::claim(Request::from_raw(abi().handle_at(request, 0))) else { return real(request, flag, status) };
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(request, flag, st);
        if rc != 0 {
            c.fail();
            return rc;
        }
        if *flag != 0 {
            c.complete(st, "MPI_Test")
        } else {
            0 // the claim goes back
        }
    })
}

/// §3.7.5
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Waitany(count: c_int, array_of_requests: Req, index: *mut c_int, status: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Waitany(Int, RequestOut, IntOut, Status)) else { return crate::real::missing("MPI_Waitany") };
    if !requests::any() || crate::stage::reentered() || index.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array_of_requests, index, status) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Waitany", || unsafe {
        let mut claims = claim_in(array_of_requests, count);
        if claims.is_empty() {
            return real(count, array_of_requests, index, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(count, array_of_requests, index, st);
        let i = *index;
        match (i >= 0).then(|| take_at(&mut claims, i as usize)).flatten() {
            Some(c) if rc != 0 => {
                c.fail();
                rc
            }
            Some(c) => c.complete(st, "MPI_Waitany"),
            None => rc,
        }
    })
}

/// §3.7.5
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Testany(count: c_int, array_of_requests: Req, index: *mut c_int, flag: *mut c_int, status: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Testany(Int, RequestOut, IntOut, IntOut, Status)) else { return crate::real::missing("MPI_Testany") };
    if !requests::any() || crate::stage::reentered() || index.is_null() || flag.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array_of_requests, index, flag, status) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Testany", || unsafe {
        let mut claims = claim_in(array_of_requests, count);
        if claims.is_empty() {
            return real(count, array_of_requests, index, flag, status);
        }
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(count, array_of_requests, index, flag, st);
        let i = *index;
        match (i >= 0).then(|| take_at(&mut claims, i as usize)).flatten() {
            Some(c) if rc != 0 => {
                c.fail();
                rc
            }
            Some(c) if *flag != 0 => c.complete(st, "MPI_Testany"),
            _ => rc,
        }
    })
}

/// §3.7.5
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Waitall(count: c_int, array_of_requests: Req, array_of_statuses: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Waitall(Int, RequestOut, Status)) else { return crate::real::missing("MPI_Waitall") };
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array_of_requests, array_of_statuses) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Waitall", || unsafe {
        let claims = claim_in(array_of_requests, count);
        if claims.is_empty() {
            return real(count, array_of_requests, array_of_statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(array_of_statuses, count, &mut own);
        let rc = real(count, array_of_requests, sts);
        if rc != 0 && rc != abi().class(Class::InStatus) {
            return rc; // which requests completed is unknown: keep their staging
        }
        finish_array("MPI_Waitall", rc, array_of_statuses, sts, count as usize, claims.into_iter().map(|(i, c)| (c, i)))
    })
}

/// §3.7.5
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Testall(count: c_int, array_of_requests: Req, flag: *mut c_int, array_of_statuses: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Testall(Int, RequestOut, IntOut, Status)) else { return crate::real::missing("MPI_Testall") };
    if !requests::any() || crate::stage::reentered() || flag.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array_of_requests, flag, array_of_statuses) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Testall", || unsafe {
        let claims = claim_in(array_of_requests, count);
        if claims.is_empty() {
            return real(count, array_of_requests, flag, array_of_statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(array_of_statuses, count, &mut own);
        let rc = real(count, array_of_requests, flag, sts);
        let in_status = abi().class(Class::InStatus);
        if (rc != 0 && rc != in_status) || (rc == 0 && *flag == 0) {
            return rc; // nothing completed (or unknown): the claims go back
        }
        finish_array("MPI_Testall", rc, array_of_statuses, sts, count as usize, claims.into_iter().map(|(i, c)| (c, i)))
    })
}

/// Waitsome and Testsome: the completed requests are `indices[0..outcount]`, with their statuses in
/// the same order.
///
/// # Safety
/// The real call filled `outcount`, `indices` and `sts`.
unsafe fn finish_some(func: &'static str, rc: c_int, mut claims: Claims, outcount: *mut c_int, indices: *mut c_int, statuses: St, sts: St) -> c_int {
    let abi = abi();
    // SAFETY: the real call filled outcount.
    let n = unsafe { *outcount };
    if n == abi.undefined || n <= 0 || indices.is_null() {
        return rc;
    }
    let mut done: SmallVec<[(Claim, usize); 8]> = SmallVec::new();
    for k in 0..n as usize {
        // SAFETY: the real call filled n indices.
        let i = unsafe { *indices.add(k) };
        if let Some(c) = (i >= 0).then(|| take_at(&mut claims, i as usize)).flatten() {
            done.push((c, k));
        }
    }
    // SAFETY: the statuses belong to these requests.
    unsafe { finish_array(func, rc, statuses, sts, n as usize, done.into_iter()) }
}

type SomeFn = unsafe extern "C" fn(c_int, Req, *mut c_int, *mut c_int, St) -> c_int;

/// Waitsome and Testsome, once requests with staging may be among theirs.
unsafe fn some(func: &'static str, real: SomeFn, incount: c_int, reqs: Req, outcount: *mut c_int, indices: *mut c_int, statuses: St) -> c_int {
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion(func, || unsafe {
        let claims = claim_in(reqs, incount);
        if claims.is_empty() {
            return real(incount, reqs, outcount, indices, statuses);
        }
        let mut own = Vec::new();
        let sts = statuses_or_own(statuses, incount, &mut own);
        let rc = real(incount, reqs, outcount, indices, sts);
        if rc != 0 && rc != abi().class(Class::InStatus) {
            return rc;
        }
        finish_some(func, rc, claims, outcount, indices, statuses, sts)
    })
}

/// §3.7.5
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Waitsome(incount: c_int, array_of_requests: Req, outcount: *mut c_int, array_of_indices: *mut c_int, array_of_statuses: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Waitsome(Int, RequestOut, IntOut, IntOut, Status)) else { return crate::real::missing("MPI_Waitsome") };
    if !requests::any() || crate::stage::reentered() || outcount.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(incount, array_of_requests, outcount, array_of_indices, array_of_statuses) };
    }
    // SAFETY: the application's arguments.
    unsafe { some("MPI_Waitsome", real, incount, array_of_requests, outcount, array_of_indices, array_of_statuses) }
}

/// §3.7.5
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Testsome(incount: c_int, array_of_requests: Req, outcount: *mut c_int, array_of_indices: *mut c_int, array_of_statuses: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Testsome(Int, RequestOut, IntOut, IntOut, Status)) else { return crate::real::missing("MPI_Testsome") };
    if !requests::any() || crate::stage::reentered() || outcount.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(incount, array_of_requests, outcount, array_of_indices, array_of_statuses) };
    }
    // SAFETY: the application's arguments.
    unsafe { some("MPI_Testsome", real, incount, array_of_requests, outcount, array_of_indices, array_of_statuses) }
}

/// §3.7.6 Non-destructive test: the first call that reports completion copies back; the later
/// Wait or Test only releases the staging. An inactive persistent request reports completion with
/// an empty status and copies nothing.
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Request_get_status(request: Request, flag: *mut c_int, status: St) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Request_get_status(Request, IntOut, Status)) else { return crate::real::missing("MPI_Request_get_status") };
    if !requests::any() || crate::stage::reentered() || flag.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request, flag, status) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    completion("MPI_Request_get_status", || unsafe {
        let Some(c) = requests::claim(request) else { return real(request, flag, status) };
        let mut own = StatusBuf::new();
        let st = status_or_own(status, &mut own);
        let rc = real(request, flag, st);
        if rc == 0 && *flag != 0 {
            return c.store_early(st, "MPI_Request_get_status");
        }
        rc
    })
}

/// §3.7.3 Freeing an active request with staging: the shim keeps the real request and finishes it
/// itself, so the data still reaches VE memory and the staging buffers come back (see
/// [`crate::requests`] for when).
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Request_free(request: Req) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Request_free(RequestOut)) else { return crate::real::missing("MPI_Request_free") };
    if !requests::any() || crate::stage::reentered() || request.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    guarded("MPI_Request_free", || unsafe {
        let abi = abi();
        let Some(c) = requests::claim(Request::from_raw(abi.handle_at(request, 0))) else { return real(request) };
        if c.free() {
            abi.set_handle_at(request, 0, abi.h.request_null);
            requests::progress_orphans(false);
            return 0;
        }
        real(request)
    })
}

/// §3.9 Persistent requests: every start stages the send buffers again.
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Start(request: Req) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Start(RequestOut)) else { return crate::real::missing("MPI_Start") };
    if !requests::any() || crate::stage::reentered() || request.is_null() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(request) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    guarded("MPI_Start", || unsafe {
        requests::progress_orphans(false);
        let Some(mut c) = requests::claim(Request::from_raw(abi().handle_at(request, 0))) else { return real(request) };
        let rc = c.start("MPI_Start");
        if rc != 0 {
            return rc;
        }
        let rc = real(request);
        if rc != 0 {
            c.deactivate();
        }
        rc
    })
}

/// §3.9
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Startall(count: c_int, array_of_requests: Req) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Startall(Int, RequestOut)) else { return crate::real::missing("MPI_Startall") };
    if !requests::any() || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments.
        return unsafe { real(count, array_of_requests) };
    }
    // SAFETY: the application\'s requests and statuses, given to the real function and read as it filled them.
    guarded("MPI_Startall", || unsafe {
        requests::progress_orphans(false);
        let mut claims = claim_in(array_of_requests, count);
        for k in 0..claims.len() {
            let rc = claims[k].1.start("MPI_Startall");
            if rc != 0 {
                // nothing is started: undo the loads of the ones before
                for (_, c) in claims.iter_mut().take(k) {
                    c.deactivate();
                }
                return rc;
            }
        }
        let rc = real(count, array_of_requests);
        if rc != 0 {
            for (_, c) in claims.iter_mut() {
                c.deactivate();
            }
        }
        rc
    })
}

/// §6.3 Barrier: carries no buffer, but is where programs typically synchronize after freeing
/// active requests (MPI_Isend + MPI_Request_free). It progresses the orphans after the real call;
/// without orphans this costs one relaxed load.
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn MPI_Barrier(comm: crate::abi::Comm) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Barrier(Comm)) else { return crate::real::missing("MPI_Barrier") };
    // SAFETY: forwarding the application's arguments.
    let rc = unsafe { real(comm) };
    if requests::orphans() && !crate::stage::reentered() {
        guarded("MPI_Barrier", || {
            requests::progress_orphans(false);
            0
        });
    }
    rc
}
