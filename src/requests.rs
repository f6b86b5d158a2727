//! Pending requests: the staging of every nonblocking or persistent operation with VE buffers, kept
//! until the application completes it.
//!
//! The table maps a request handle to its [`Plan`] and kind. It is sharded, so threads completing
//! different requests rarely take the same lock, and no lock is held while data is copied. It is
//! guarded by a counter of live entries: while no VE request exists (the host-only case), a
//! completion call costs one relaxed load and goes straight to the real MPI. With VE requests
//! pending, a host request costs one hash lookup in one shard.
//!
//! A thread that completes, starts, tests or frees a request first *claims* its entry (takes it out
//! of the table, [`claim`]) and only then calls the real MPI. The real completion call frees the
//! handle, and the MPI may give the same handle to the next request at once, possibly in another
//! thread; an entry looked up after the real call could belong to that new request. A claimed entry
//! is owned by the thread holding the [`Claim`]: it goes back to the table when the claim is
//! dropped, unless the operation completed. While a request is claimed, concurrent
//! `MPI_Request_get_status` calls on it (in other threads) are forwarded without copying.
//!
//! Life of an entry:
//! - nonblocking operation: created after the real call returned a request; completed (copy back,
//!   buffers returned to the pool) by the first completion call that observes it complete;
//! - persistent operation: created inactive by the `_init` call; each `MPI_Start` loads the send
//!   buffers again and makes it active; each completion of an active request copies back and makes it
//!   inactive. Completion calls on an inactive request (which return at once with an empty status)
//!   copy nothing; `MPI_Request_free` of an inactive request drops it;
//! - `MPI_Request_get_status` copies back at the first call that reports completion, and the later
//!   Wait/Test only releases the entry;
//! - `MPI_Request_free` of an active request makes it an *orphan*: the shim keeps the real request and
//!   finishes it itself ([`progress_orphans`]): after every completion call, in every intercepted call
//!   that stages VE buffers, in MPI_Start(all), MPI_Request_get_status and MPI_Barrier, and at the latest
//!   in `MPI_Finalize`, which waits for all of them.
//!
//! Requests from MPI-IO and RMA (File_iread, Rput, ...) use the same table.

use crate::abi::{Handle, Request, StatusBuf};
use crate::errors::{self, Obj, Result};
use crate::real::{abi, pmpi};
use crate::ffi;
use crate::stage::{Inside, Plan};
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

impl Entry {
    /// Whether the operation is under way: a completion reported now delivers data. An inactive
    /// persistent request "completes" at once with an empty status and delivers nothing.
    pub fn active(&self) -> bool {
        !matches!(self.kind, Kind::Persistent { active: false })
    }
}

type Shard = Mutex<Option<HashMap<Handle, Entry>>>;
const SHARDS: usize = 64;
static TABLE: [Shard; SHARDS] = [const { Mutex::new(None) }; SHARDS];
/// Live entries: in TABLE, claimed by a thread, or orphaned. Zero means no VE request exists and
/// completion calls forward at once.
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Freed-while-active requests that the shim completes itself.
static ORPHANS: Mutex<Vec<(Handle, Entry)>> = Mutex::new(Vec::new());
static ORPHAN_COUNT: AtomicUsize = AtomicUsize::new(0);

fn shard(h: Handle) -> &'static Shard {
    // Handles are pointers (Open MPI) or small tagged integers (MPICH): mix the bits.
    let x = (h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(x >> 58) as usize % SHARDS]
}

/// Whether any VE request exists: the one check host requests pay.
#[inline(always)]
pub fn any() -> bool {
    COUNT.load(Ordering::Relaxed) != 0
}

fn born() {
    COUNT.fetch_add(1, Ordering::Relaxed);
    PENDING_REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// An entry leaves for good (its buffers go back to the pool when it is dropped).
fn retire(e: Entry) {
    drop(e);
    COUNT.fetch_sub(1, Ordering::Relaxed);
    PENDING_REQUESTS.fetch_sub(1, Ordering::Relaxed);
}

/// Puts `e` in the table under the normalized handle `h`. An entry already there is stale (its
/// request was completed behind the shim's back, e.g. by a call that failed): it is dropped.
fn insert(h: Handle, e: Entry) {
    let old = shard(h).lock().get_or_insert_with(HashMap::new).insert(h, e);
    if let Some(old) = old {
        log::debug!("request {h:#x}: dropping a stale staging entry");
        retire(old);
    }
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
    born();
    insert(h, Entry { plan, kind, stored: false, obj });
}

/// Whether `h` has an entry in the table (not claimed).
pub fn tracked(h: Request) -> bool {
    let h = abi().norm(h);
    shard(h).lock().as_ref().is_some_and(|m| m.contains_key(&h))
}

/// The entry of one request, owned by the thread that is completing, starting or freeing it. Dropping
/// the claim puts the entry back into the table.
pub struct Claim {
    /// The table's key: the request's normalized integer value.
    h: Handle,
    e: Option<Entry>,
}

/// Takes the entry of `h` out of the table, if it has one: one lookup in one shard.
pub fn claim(h: Request) -> Option<Claim> {
    let h = abi().norm(h);
    let e = shard(h).lock().as_mut().and_then(|m| m.remove(&h))?;
    Some(Claim { h, e: Some(e) })
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(e) = self.e.take() {
            insert(self.h, e);
        }
    }
}

impl Claim {
    fn entry(&mut self) -> &mut Entry {
        self.e.as_mut().expect("a claim holds its entry until consumed")
    }

    /// Whether the request is under way (see [`Entry::active`]).
    pub fn active(&self) -> bool {
        self.e.as_ref().is_some_and(Entry::active)
    }

    /// The real MPI reported the operation complete with `status`: copies back (unless it was
    /// cancelled, already done, or the request was inactive), then releases a nonblocking request's
    /// staging or keeps a persistent one's, inactive, for its next start. A failed copy is raised
    /// through the operation's error handler as an error of `func`; returns MPI_SUCCESS or that code.
    ///
    /// # Safety
    /// `status` is a status of the real MPI for this request.
    pub unsafe fn complete(mut self, status: *const c_void, func: &'static str) -> c_int {
        let e = self.entry();
        // SAFETY: forwarded contract.
        let r = unsafe { finish_entry(e, status) };
        let obj = e.obj;
        if let Kind::Persistent { .. } = e.kind {
            e.kind = Kind::Persistent { active: false };
            e.stored = false;
            drop(self); // back to the table
        } else if let Some(e) = self.e.take() {
            retire(e);
        }
        match r {
            Ok(()) => 0,
            // SAFETY: obj holds the handle the application gave when it started the operation.
            Err(err) => unsafe { errors::raise(obj, func, &err) },
        }
    }

    /// The operation failed in the real MPI (the completion call reported an error for it): nothing is
    /// copied back. A persistent request stays, inactive.
    pub fn fail(mut self) {
        let e = self.entry();
        if let Kind::Persistent { .. } = e.kind {
            e.kind = Kind::Persistent { active: false };
            e.stored = false;
        } else if let Some(e) = self.e.take() {
            retire(e);
        }
    }

    /// MPI_Request_get_status reported the operation complete: copies back now, once, and keeps the
    /// entry for the Wait or Test that will release the request.
    ///
    /// # Safety
    /// As for [`Claim::complete`].
    pub unsafe fn store_early(mut self, status: *const c_void, func: &'static str) -> c_int {
        let e = self.entry();
        // SAFETY: forwarded contract.
        let r = unsafe { finish_entry(e, status) };
        let obj = e.obj;
        drop(self);
        match r {
            Ok(()) => 0,
            // SAFETY: obj holds the handle the application gave when it started the operation.
            Err(err) => unsafe { errors::raise(obj, func, &err) },
        }
    }

    /// MPI_Start: makes a persistent request active and loads its send buffers again (the application
    /// may have changed them). A failed copy leaves it inactive and is raised through the operation's
    /// error handler; returns MPI_SUCCESS or the code. Nothing happens to other requests.
    ///
    /// # Safety
    /// The VE buffers of the request are allocated.
    pub unsafe fn start(&mut self, func: &'static str) -> c_int {
        let e = self.entry();
        let Kind::Persistent { .. } = e.kind else { return 0 };
        e.kind = Kind::Persistent { active: true };
        e.stored = false;
        // SAFETY: forwarded contract.
        match unsafe { e.plan.load() } {
            Ok(()) => 0,
            Err(err) => {
                e.kind = Kind::Persistent { active: false };
                // SAFETY: obj holds the handle the application gave when it created the request.
                unsafe { errors::raise(e.obj, func, &err) }
            }
        }
    }

    /// The real MPI_Start(all) failed: the request is not active after all.
    pub fn deactivate(&mut self) {
        let e = self.entry();
        if let Kind::Persistent { .. } = e.kind {
            e.kind = Kind::Persistent { active: false };
        }
    }

    /// MPI_Request_free: returns true when the shim took the request over (an active request: it
    /// becomes an orphan, and the real MPI must not see the free); false for an inactive persistent
    /// request, whose staging is released here before the real MPI frees it.
    pub fn free(mut self) -> bool {
        let e = self.e.take().expect("a claim holds its entry until consumed");
        if !e.active() {
            retire(e);
            return false;
        }
        PENDING_REQUESTS.fetch_sub(1, Ordering::Relaxed); // the application is done with it
        let mut orphans = ORPHANS.lock();
        orphans.push((self.h, e));
        ORPHAN_COUNT.store(orphans.len(), Ordering::Relaxed);
        true
    }
}

/// Copies back what a completed operation delivered, once.
///
/// # Safety
/// `status` is NULL, MPI_STATUS_IGNORE or a status of the real MPI for this operation.
unsafe fn finish_entry(e: &mut Entry, status: *const c_void) -> Result<()> {
    if e.stored && e.active() && !status.is_null() {
        // SAFETY: forwarded contract (the plan's protocol reports a pipelined message's size again).
        unsafe { e.plan.report_again(status) };
    }
    if !e.active() || e.stored || !e.plan.stores() {
        return Ok(());
    }
    e.stored = true;
    // Only a point-to-point receive can be cancelled: a nonblocking collective's status may be left
    // unset by the MPI (MPICH's MPI_Request_get_status does), and Open MPI's file layer leaves the
    // cancelled bit of file-request statuses uninitialized (neither OMPIO nor ROMIO cancels I/O).
    let cancellable = e.plan.receives() && !matches!(e.obj, Obj::File(_));
    if cancellable && !status.is_null() && !abi().is_status_ignore(status) {
        let mut cancelled = 0;
        // SAFETY: status is a status of the real MPI.
        unsafe { pmpi::PMPI_Test_cancelled(status, &mut cancelled) };
        if cancelled != 0 {
            return Ok(()); // a cancelled operation delivered nothing
        }
    }
    // SAFETY: the VE buffers stay allocated until the application completes the operation.
    unsafe { e.plan.store(Some(status)) }
}

/// Whether there are orphans to progress: one relaxed load.
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
            let rc = if wait {
                flag = 1;
                pmpi::PMPI_Wait(rp, st.as_mut_ptr())
            } else {
                pmpi::PMPI_Test(rp, &mut flag, st.as_mut_ptr())
            };
            if rc != 0 {
                log::error!("completing a request the application freed: the MPI library returned error {rc}");
                return false; // the MPI reported the failure through the handler; nothing to copy
            }
            if flag == 0 {
                return true;
            }
            if let Err(err) = finish_entry(e, st.as_mut_ptr()) {
                errors::report_without_object(&format!(
                    "completing a request the application freed with MPI_Request_free: {} (the data did not reach VE memory)",
                    err.msg
                ));
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
        let drained: Vec<Entry> = s.lock().as_mut().map(|m| m.drain().map(|(_, e)| e).collect()).unwrap_or_default();
        for e in drained {
            retire(e);
        }
    }
}

/// Runs the slow path of a blocking intercepted call: stages with `f`, which also calls the real
/// function; then copies results back if the real call succeeded, and finishes the requests the
/// application freed while active that completed meanwhile. A shim error or a panic goes through
/// `obj`'s error handler ([`ffi::boundary`]).
pub fn blocking(obj: Obj, func: &'static str, f: impl FnOnce(&mut Plan) -> Result<c_int>) -> c_int {
    let _inside = Inside::enter();
    ffi::boundary(obj, func, || {
        let mut plan = Plan::new(func);
        let rc = f(&mut plan)?;
        if rc == 0 {
            // SAFETY: the VE buffers are the application's, still allocated during its call.
            unsafe { plan.store(None) }?;
        }
        progress_orphans(false);
        Ok(rc)
    })
}

/// Registers the request of a nonblocking (`Kind::Once`) or persistent operation: finishes the
/// orphans that completed, runs the slow path `f` (stage, call the real function), then tracks the
/// request it returned. A shim error or a panic goes through `obj`'s error handler.
///
/// # Safety
/// `req` is the application's request out-argument of `func`.
pub unsafe fn post(obj: Obj, func: &'static str, req: *mut c_void, kind: Kind, f: impl FnOnce(&mut Plan) -> Result<c_int>) -> c_int {
    let _inside = Inside::enter();
    ffi::boundary(obj, func, || {
        progress_orphans(false);
        let mut plan = Plan::new(func);
        let rc = f(&mut plan)?;
        if rc == 0 && !req.is_null() {
            // SAFETY: the real call stored its request in *req.
            unsafe { track(req, plan, kind, obj) };
        }
        Ok(rc)
    })
}
