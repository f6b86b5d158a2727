//! Pending requests: the staging of every nonblocking or persistent operation with VE buffers, kept
//! until the application completes it.
//!
//! The table maps a request handle to its [`Plan`] and kind. It is sharded, so threads completing
//! different requests never take the same lock, and guarded by a counter of entries: while no VE
//! request is pending (the host-only case), a completion call costs one relaxed load and goes straight
//! to the real MPI. With VE requests pending, a host request costs one hash lookup in one shard.
//!
//! Life of an entry:
//! - nonblocking operation: created after the real call returned a request; completed (copy back,
//!   buffers returned to the pool) by the first completion call that observes it complete;
//! - persistent operation: created by the `_init` call; each `MPI_Start` loads the send buffers again,
//!   each completion copies back; `MPI_Request_free` of an inactive request drops it;
//! - `MPI_Request_get_status` copies back at the first call that reports completion, and the later
//!   Wait/Test only releases the entry;
//! - `MPI_Request_free` of an active request makes it an *orphan*: the shim keeps the real request and
//!   finishes it itself, on later completion calls and at the latest in `MPI_Finalize`.
//!
//! Requests from MPI-IO and RMA (File_iread, Rput, ...) use the same table.

use crate::abi::{Handle, StatusBuf};
use crate::errors::{Obj, Result};
use crate::real::{abi, pmpi};
use crate::stage::Plan;
use crate::stats::PENDING_REQUESTS;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What kind of operation an entry stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nonblocking: completes once.
    Once,
    /// Persistent: started and completed any number of times until freed.
    Persistent { active: bool },
}

/// The staging of one pending request.
pub struct Entry {
    pub plan: Plan,
    pub kind: Kind,
    /// The copy back already happened (MPI_Request_get_status saw the request complete).
    pub stored: bool,
    /// Whose error handler reports a failed copy back.
    pub obj: Obj,
}

const SHARDS: usize = 64;
static TABLE: [Mutex<Option<HashMap<Handle, Entry>>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];
/// Entries in TABLE plus orphans: zero means no VE request is pending and completion calls forward
/// at once.
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Freed-while-active requests that the shim completes itself.
static ORPHANS: Mutex<Vec<(Handle, Entry)>> = Mutex::new(Vec::new());
static ORPHAN_COUNT: AtomicUsize = AtomicUsize::new(0);

fn shard(h: Handle) -> &'static Mutex<Option<HashMap<Handle, Entry>>> {
    // Handles are pointers (Open MPI) or small tagged integers (MPICH): mix the bits.
    let x = (h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(x >> 58) as usize % SHARDS]
}

/// Whether any VE request is pending: the one check host requests pay.
#[inline(always)]
pub fn any() -> bool {
    COUNT.load(Ordering::Relaxed) != 0
}

/// Registers the staging of the request the real call just stored in `*req`.
///
/// # Safety
/// `req` points to a request handle of the real MPI.
pub unsafe fn track(req: *const c_void, plan: Plan, kind: Kind, obj: Obj) {
    let abi = abi();
    // SAFETY: the real call wrote a handle there.
    let h = abi.norm(unsafe { abi.handle_at(req, 0) });
    if h == abi.norm(abi.h.request_null) {
        return; // nothing to complete: drop the plan (MPI_PROC_NULL persistent requests are not null)
    }
    let old = shard(h).lock().get_or_insert_with(HashMap::new).insert(h, Entry { plan, kind, stored: false, obj });
    if old.is_none() {
        COUNT.fetch_add(1, Ordering::Relaxed);
        PENDING_REQUESTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Removes the entry of `h`.
pub fn take(h: Handle) -> Option<Entry> {
    let h = abi().norm(h);
    let e = shard(h).lock().as_mut().and_then(|m| m.remove(&h));
    if e.is_some() {
        COUNT.fetch_sub(1, Ordering::Relaxed);
        PENDING_REQUESTS.fetch_sub(1, Ordering::Relaxed);
    }
    e
}

/// Puts an entry back (persistent requests after completion).
pub fn put(h: Handle, e: Entry) {
    let h = abi().norm(h);
    shard(h).lock().get_or_insert_with(HashMap::new).insert(h, e);
    COUNT.fetch_add(1, Ordering::Relaxed);
    PENDING_REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// Runs `f` on the entry of `h`, if there is one.
pub fn with<R>(h: Handle, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
    let h = abi().norm(h);
    shard(h).lock().as_mut().and_then(|m| m.get_mut(&h)).map(f)
}

/// Whether `h` has an entry.
pub fn tracked(h: Handle) -> bool {
    with(h, |_| ()).is_some()
}

/// Finishes the operation of `h`, which the real MPI reported complete with `status`: copies back
/// (unless cancelled or already done) and releases the staging, or keeps a persistent request's
/// staging for its next start. A failed copy is raised through the operation's error handler, as an
/// error of `func`; returns MPI_SUCCESS or that error code.
///
/// # Safety
/// `status` is a status of the real MPI for this request.
pub unsafe fn complete(h: Handle, status: *const c_void, func: &'static str) -> c_int {
    let Some(mut e) = take(h) else { return 0 };
    // SAFETY: forwarded contract.
    let r = unsafe { finish_entry(&mut e, status) };
    let obj = e.obj;
    if let Kind::Persistent { .. } = e.kind {
        e.kind = Kind::Persistent { active: false };
        e.stored = false;
        put(h, e);
    } else {
        drop(e);
    }
    match r {
        Ok(()) => 0,
        // SAFETY: obj holds the handle the application gave when it started the operation.
        Err(err) => unsafe { crate::errors::raise(obj, func, &err) },
    }
}

/// Copies back what a completed operation delivered, once.
unsafe fn finish_entry(e: &mut Entry, status: *const c_void) -> Result<()> {
    if e.stored || !e.plan.stores() {
        return Ok(());
    }
    e.stored = true;
    if !status.is_null() && !abi().is_status_ignore(status) {
        let mut cancelled = 0;
        // SAFETY: status is a status of the real MPI.
        unsafe { pmpi::PMPI_Test_cancelled(status, &mut cancelled) };
        if cancelled != 0 {
            return Ok(()); // a cancelled receive delivered nothing
        }
    }
    // SAFETY: the VE buffers stay allocated until the application completes the operation.
    unsafe { e.plan.store(Some(status)) }
}

/// Forgets the staging of `h`, whose operation failed in the real MPI: nothing is copied back. A
/// persistent request stays, inactive.
pub fn fail(h: Handle) {
    if let Some(mut e) = take(h) {
        if let Kind::Persistent { .. } = e.kind {
            e.kind = Kind::Persistent { active: false };
            put(h, e);
        }
    }
}

/// Copies back for `h` without releasing it (MPI_Request_get_status reported it complete).
///
/// # Safety
/// As for [`complete`].
pub unsafe fn store_early(h: Handle, status: *const c_void, func: &'static str) -> c_int {
    let h = abi().norm(h);
    let r = {
        let mut guard = shard(h).lock();
        let Some(e) = guard.as_mut().and_then(|m| m.get_mut(&h)) else { return 0 };
        // SAFETY: forwarded contract.
        unsafe { finish_entry(e, status) }.map_err(|err| (e.obj, err))
    };
    match r {
        Ok(()) => 0,
        // SAFETY: obj holds the handle the application gave when it started the operation.
        Err((obj, err)) => unsafe { crate::errors::raise(obj, func, &err) },
    }
}

/// MPI_Start: loads the send buffers of the persistent request `h` again (nothing for other requests).
/// A failed copy is raised through the operation's error handler; returns MPI_SUCCESS or the code.
///
/// # Safety
/// The VE buffers of the request are allocated.
pub unsafe fn start(h: Handle, func: &'static str) -> c_int {
    let r = with(h, |e| {
        if let Kind::Persistent { .. } = e.kind {
            e.kind = Kind::Persistent { active: true };
            e.stored = false;
            // SAFETY: forwarded contract.
            unsafe { e.plan.load() }.map_err(|err| (e.obj, err))
        } else {
            Ok(())
        }
    });
    match r {
        None | Some(Ok(())) => 0,
        // SAFETY: obj holds the handle the application gave when it created the request.
        Some(Err((obj, err))) => unsafe { crate::errors::raise(obj, func, &err) },
    }
}

/// MPI_Request_free of `h`: true when the shim took the request over (active staged request) and the
/// real MPI must not see the free; the entry is dropped for an inactive persistent request.
pub fn free(h: Handle) -> bool {
    let Some(e) = take(h) else { return false };
    match e.kind {
        Kind::Persistent { active: false } => false,
        _ => {
            let mut orphans = ORPHANS.lock();
            orphans.push((abi().norm(h), e));
            ORPHAN_COUNT.store(orphans.len(), Ordering::Relaxed);
            COUNT.fetch_add(1, Ordering::Relaxed);
            true
        }
    }
}

/// Whether there are orphans to progress.
#[inline]
pub fn orphans() -> bool {
    ORPHAN_COUNT.load(Ordering::Relaxed) != 0
}

/// Tests (or, with `wait`, waits for) every orphan; finished ones are copied back and released, and
/// persistent ones freed in the real MPI. Without `wait`, a thread that finds another one progressing
/// the orphans leaves it to that thread.
pub fn progress_orphans(wait: bool) {
    if !orphans() {
        return;
    }
    let mut list = if wait {
        ORPHANS.lock()
    } else {
        match ORPHANS.try_lock() {
            Some(g) => g,
            None => return,
        }
    };
    let before = list.len();
    list.retain_mut(|(h, e)| {
        let mut req: u64 = *h as u64;
        let rp = &mut req as *mut u64 as *mut c_void;
        let mut st = StatusBuf::new();
        let mut flag: c_int = 0;
        // SAFETY: the orphan's handle is a live request of the real MPI that only the shim holds; a
        // u64 holds a handle of either ABI (little-endian, so an int handle is its low half).
        unsafe {
            if wait {
                pmpi::PMPI_Wait(rp, st.as_mut_ptr());
                flag = 1;
            } else {
                pmpi::PMPI_Test(rp, &mut flag, st.as_mut_ptr());
            }
            if flag == 0 {
                return true;
            }
            if let Err(err) = finish_entry(e, st.as_mut_ptr()) {
                log::error!("completing a request the application freed: {}", err.msg);
            }
            if let Kind::Persistent { .. } = e.kind {
                let mut r2: u64 = *h as u64;
                pmpi::PMPI_Request_free(&mut r2 as *mut u64 as *mut c_void);
            }
        }
        false
    });
    COUNT.fetch_sub(before - list.len(), Ordering::Relaxed);
    ORPHAN_COUNT.store(list.len(), Ordering::Relaxed);
}

/// MPI_Finalize: finishes the orphans and drops every staging still held (persistent requests the
/// application never freed), returning all buffers to the pool.
pub fn finalize() {
    progress_orphans(true);
    for s in TABLE.iter() {
        if let Some(m) = s.lock().as_mut() {
            let n = m.len();
            m.clear();
            COUNT.fetch_sub(n, Ordering::Relaxed);
            PENDING_REQUESTS.fetch_sub(n as u64, Ordering::Relaxed);
        }
    }
}

/// Registers the request of a nonblocking (`Kind::Once`) or persistent operation: runs the slow path
/// `f` (stage, call the real function), then tracks the request it returned.
///
/// # Safety
/// `req` is the application's request out-argument of `func`.
pub unsafe fn post(obj: Obj, func: &'static str, req: *mut c_void, kind: Kind, f: impl FnOnce(&mut Plan) -> Result<c_int>) -> c_int {
    let _inside = crate::stage::Inside::enter();
    progress_orphans(false);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<c_int> {
        let mut plan = Plan::new(func);
        let rc = f(&mut plan)?;
        if rc == 0 && !req.is_null() {
            // SAFETY: the real call stored its request in *req.
            unsafe { track(req, plan, kind, obj) };
        }
        Ok(rc)
    }));
    crate::stage::finish(obj, func, r)
}
