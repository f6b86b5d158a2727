//! One-sided communication (MPI-4.1 chapter 12): the staging of RMA operations until the
//! synchronization that completes them, and host shadows of windows in VE memory.
//!
//! # Origin side
//! An RMA call with a VE origin, result or compare buffer stages it (origin and compare loaded at
//! the call) and hands MPI the host copy. MPI may read the origin and write the result until the
//! operation completes, so the staging is kept here, per window and target, until the
//! synchronization that completes the operation; there the result buffers are stored to VE memory
//! and the staging released:
//!
//! | synchronization | completes the pending operations to |
//! |---|---|
//! | MPI_Win_fence, MPI_Win_unlock_all, MPI_Win_flush_all, MPI_Win_flush_local_all, MPI_Win_free | every target |
//! | MPI_Win_complete | the targets of the group given to MPI_Win_start (every target if the start was not seen) |
//! | MPI_Win_unlock, MPI_Win_flush, MPI_Win_flush_local | that target |
//!
//! Local completion is enough for result buffers too: MPI defines the local completion of a get as
//! the data having arrived in the origin buffer (it is what completes an MPI_Rget or
//! MPI_Rget_accumulate request), so after MPI_Win_flush_local the host copy holds the final result
//! and MPI no longer touches it. The request-based forms (MPI_Rput...) are tracked in
//! [`crate::requests`] instead and stored when their request completes; one the application freed
//! with MPI_Request_free is finished by the next synchronization call at the latest.
//!
//! # Windows in VE memory
//! MPI_Win_create with a VE base creates the real window on a host *shadow* (the public copy of the
//! MPI separate memory model); the VE memory is the private copy that the application loads and
//! stores. The shim keeps a *snapshot* of the contents both copies last agreed on, and merges three
//! ways, byte by byte:
//! - *push* (private to public): bytes whose VE value differs from the snapshot were changed by the
//!   application; they are written to the shadow and the snapshot;
//! - *pull* (public to private): bytes whose shadow value differs from the snapshot were changed by
//!   RMA operations; they are written to VE memory and the snapshot.
//!
//! A byte changed on both sides since the last merge is a conflicting access, erroneous in MPI.
//! Each direction touches only the bytes its side changed, so concurrent RMA updates of other bytes
//! of the shadow are never overwritten, and a pull that sees an update half done picks up the rest
//! at the next one. A push reads the whole window from VE memory (the expensive part); a pull only
//! compares host memory and writes the changed bytes.
//!
//! The merges happen where the separate model says the copies become consistent, as seen by the
//! window's owner: push before MPI_Win_fence, MPI_Win_post, MPI_Win_unlock (own rank),
//! MPI_Win_unlock_all and in MPI_Win_sync (skipped with MPI_MODE_NOSTORE); pull after MPI_Win_fence,
//! MPI_Win_wait, a successful MPI_Win_test, MPI_Win_lock (own rank), MPI_Win_lock_all,
//! MPI_Win_unlock (own rank), MPI_Win_unlock_all, MPI_Win_sync and MPI_Win_free.
//!
//! # Cost on the host path
//! Windows enter the registry only when they have a shadow or staged operations, and leave it when
//! they have neither. Synchronization calls check [`any`] and [`crate::requests::orphans`] (two
//! relaxed loads) and forward at once while both are zero; otherwise a window not in the registry
//! costs one lookup in one shard.

use crate::abi::{Aint, Class, Comm, Group, Handle, Win};
use crate::errors::{Error, Obj, Result};
use crate::ffi;
use crate::pool::PoolBuf;
use crate::real::{abi, pmpi};
use crate::requests;
use crate::stage::{Inside, Plan};
use crate::ve;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes of a window merged at a time (bounds the scratch buffer).
const CHUNK: usize = 8 << 20;
/// A pull that knows the VE memory equals the snapshot writes runs closer than this as one.
const GAP: usize = 256;

/// The staging of one RMA operation, waiting for the synchronization that completes it.
struct Pending {
    target: c_int,
    plan: Plan,
}

/// Host memory for a shadow window: page aligned, zeroed, at a fixed address for the window's life.
struct HostMem {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

// SAFETY: plain memory owned by the shadow; shared with the MPI library only through the window.
unsafe impl Send for HostMem {}

impl HostMem {
    fn new(len: usize) -> Result<HostMem> {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 4096)
            .map_err(|_| Error::new(Class::Arg, format!("a window of {len} bytes is too large")))?;
        // SAFETY: non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(p).ok_or_else(|| {
            Error::new(Class::NoMem, format!("cannot allocate a {len} byte host shadow for a window in VE memory: out of host memory"))
        })?;
        Ok(HostMem { ptr, layout })
    }

    fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for HostMem {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The host shadow of a window whose memory is in VE memory.
struct Shadow {
    /// The application's VE base address.
    ve: usize,
    /// The memory the real window was created on (the public copy).
    public: HostMem,
    /// The contents VE memory and the shadow last agreed on.
    snap: Vec<u8>,
    /// This process's rank in the window's group.
    rank: c_int,
    /// MPI_WIN_SEPARATE, returned by address from MPI_Win_get_attr(MPI_WIN_MODEL).
    model: Box<c_int>,
}

impl Shadow {
    /// A shadow holding the current contents of `len` bytes of VE memory at `ve`.
    fn new(ve: usize, len: usize, rank: c_int) -> Result<Shadow> {
        let public = HostMem::new(len)?;
        for off in (0..len).step_by(CHUNK) {
            let n = CHUNK.min(len - off);
            // SAFETY: public has len bytes.
            unsafe { ve::read(public.as_ptr().add(off), ve + off, n) }?;
        }
        // SAFETY: fully written above; no window exists on it yet.
        let snap = unsafe { std::slice::from_raw_parts(public.as_ptr(), len) }.to_vec();
        Ok(Shadow { ve, public, snap, rank, model: Box::new(abi().win_separate) })
    }

    /// Private to public: what the application stored in VE memory since the last merge goes to the
    /// shadow.
    fn push(&mut self) -> Result<()> {
        let (ve, public) = (self.ve, self.public.as_ptr());
        push_with(&mut self.snap, public, |off, buf| {
            // SAFETY: buf is host memory of buf.len() bytes; the VE range lies inside the window.
            unsafe { ve::read(buf.as_mut_ptr(), ve + off, buf.len()) }
        })
    }

    /// Public to private: what RMA operations changed in the shadow since the last merge goes to VE
    /// memory. `synced` says that VE memory equals the snapshot (a push just happened), so nearby
    /// runs may be written as one.
    fn pull(&mut self, synced: bool) -> Result<()> {
        let ve = self.ve;
        let gap = if synced { GAP } else { 0 };
        pull_with(&mut self.snap, self.public.as_ptr(), gap, |off, data| {
            // SAFETY: data is host memory; the VE range lies inside the window.
            unsafe { ve::write(ve + off, data.as_ptr(), data.len()) }
        })
    }
}

/// The merge of [`Shadow::push`], with the VE reads abstracted (`read(offset, into)`).
fn push_with(snap: &mut [u8], public: *mut u8, mut read: impl FnMut(usize, &mut [u8]) -> Result<()>) -> Result<()> {
    let len = snap.len();
    if len == 0 {
        return Ok(());
    }
    let scratch = PoolBuf::get(CHUNK.min(len))?;
    for off in (0..len).step_by(CHUNK) {
        let n = CHUNK.min(len - off);
        // SAFETY: the pool buffer has at least n bytes and is ours.
        let cur = unsafe { std::slice::from_raw_parts_mut(scratch.as_ptr(), n) };
        read(off, cur)?;
        let snap = &mut snap[off..off + n];
        for (o, l) in diff_runs(cur, snap, 0) {
            // SAFETY: public has len bytes; only bytes the application changed are written, so RMA
            // updates of other bytes in progress are left alone.
            unsafe { std::ptr::copy_nonoverlapping(cur.as_ptr().add(o), public.add(off + o), l) };
            snap[o..o + l].copy_from_slice(&cur[o..o + l]);
        }
    }
    Ok(())
}

/// The merge of [`Shadow::pull`], with the VE writes abstracted (`write(offset, data)`).
fn pull_with(snap: &mut [u8], public: *const u8, gap: usize, mut write: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
    let len = snap.len();
    if len == 0 {
        return Ok(());
    }
    let scratch = PoolBuf::get(CHUNK.min(len))?;
    for off in (0..len).step_by(CHUNK) {
        let n = CHUNK.min(len - off);
        // SAFETY: one copy of the shadow, so every byte compared and stored is the same value. RMA
        // updates may land concurrently; a byte read before its update lands is pulled next time.
        let cur = unsafe {
            std::ptr::copy_nonoverlapping(public.add(off), scratch.as_ptr(), n);
            std::slice::from_raw_parts(scratch.as_ptr(), n)
        };
        let snap = &mut snap[off..off + n];
        for (o, l) in diff_runs(cur, snap, gap) {
            snap[o..o + l].copy_from_slice(&cur[o..o + l]);
            write(off + o, &snap[o..o + l])?;
        }
    }
    Ok(())
}

/// The runs `(offset, len)` of bytes where `a` and `b` differ; runs at most `gap` bytes apart are
/// joined.
fn diff_runs(a: &[u8], b: &[u8], gap: usize) -> Vec<(usize, usize)> {
    const BLOCK: usize = 512;
    let n = a.len().min(b.len());
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < n {
        let end = (i + BLOCK).min(n);
        if a[i..end] != b[i..end] {
            for j in i..end {
                if a[j] == b[j] {
                    continue;
                }
                match runs.last_mut() {
                    Some((o, l)) if j <= *o + *l + gap => *l = j + 1 - *o,
                    _ => runs.push((j, 1)),
                }
            }
        }
        i = end;
    }
    runs
}

/// What the shim knows about one window.
#[derive(Default)]
struct Window {
    pending: Vec<Pending>,
    /// Window ranks of the group of the current MPI_Win_start.
    access: Option<Vec<c_int>>,
    shadow: Option<Shadow>,
}

impl Window {
    fn idle(&self) -> bool {
        self.pending.is_empty() && self.access.is_none() && self.shadow.is_none()
    }

    /// Removes the pending operations to the targets `t`.
    fn take(&mut self, t: Targets) -> Vec<Plan> {
        let (done, keep): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending).into_iter().partition(|p| match t {
            Targets::All => true,
            Targets::One(r) => p.target == r,
            Targets::Access => self.access.as_ref().is_none_or(|g| g.contains(&p.target)),
        });
        self.pending = keep;
        done.into_iter().map(|p| p.plan).collect()
    }

    fn push(&mut self, when: bool) -> Result<bool> {
        match &mut self.shadow {
            Some(s) if when => s.push().map(|()| true),
            _ => Ok(false),
        }
    }

    fn pull(&mut self, when: bool, synced: bool) -> Result<()> {
        match &mut self.shadow {
            Some(s) if when => s.pull(synced),
            _ => Ok(()),
        }
    }

    fn is_me(&self, rank: c_int) -> bool {
        self.shadow.as_ref().is_some_and(|s| s.rank == rank)
    }
}

#[derive(Clone, Copy)]
enum Targets {
    All,
    One(c_int),
    /// The group of the access epoch that MPI_Win_complete ends.
    Access,
}

type Slot = Arc<Mutex<Window>>;
const SHARDS: usize = 16;
static TABLE: [Mutex<Option<HashMap<Handle, Slot>>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];
/// Windows in TABLE: zero means no window has a shadow or staged operations.
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn shard(h: Handle) -> &'static Mutex<Option<HashMap<Handle, Slot>>> {
    let x = (h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(x >> 60) as usize % SHARDS]
}

/// Whether any window has a shadow or staged operations: the one check the host path pays.
#[inline(always)]
pub fn any() -> bool {
    COUNT.load(Ordering::Relaxed) != 0
}

fn lookup(win: Win) -> Option<Slot> {
    let h = abi().norm(win);
    shard(h).lock().as_ref().and_then(|m| m.get(&h)).cloned()
}

/// Runs `f` on the entry of `win`, created if missing.
fn with_entry<R>(win: Win, f: impl FnOnce(&mut Window) -> R) -> R {
    let h = abi().norm(win);
    let mut guard = shard(h).lock();
    let slot = guard.get_or_insert_with(HashMap::new).entry(h).or_insert_with(|| {
        COUNT.fetch_add(1, Ordering::Relaxed);
        Arc::new(Mutex::new(Window::default()))
    });
    let r = f(&mut slot.lock());
    r
}

fn remove(win: Win) -> Option<Slot> {
    let h = abi().norm(win);
    let s = shard(h).lock().as_mut().and_then(|m| m.remove(&h));
    if s.is_some() {
        COUNT.fetch_sub(1, Ordering::Relaxed);
    }
    s
}

/// Drops the entry of `win` if it holds nothing (so host windows go back to the fast path). An entry
/// another thread is working on is left to that thread.
fn release_if_idle(win: Win) {
    let h = abi().norm(win);
    let mut guard = shard(h).lock();
    let Some(m) = guard.as_mut() else { return };
    let idle = m.get(&h).is_some_and(|s| s.try_lock().is_some_and(|w| w.idle()));
    if idle {
        m.remove(&h);
        COUNT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Stores the results of completed operations and releases their staging; returns the first error.
fn store(plans: Vec<Plan>) -> Result<()> {
    let mut first = Ok(());
    for mut p in plans {
        // SAFETY: the application's result buffers stay allocated until the operation completes,
        // which is now.
        let r = unsafe { p.store(None) };
        if first.is_ok() {
            first = r;
        }
    }
    first
}

/// Runs the slow path of an RMA operation: `f` stages and calls the real function; the staging is
/// kept until the synchronization that completes the operation.
pub fn issue(win: Win, target: c_int, func: &'static str, f: impl FnOnce(&mut Plan) -> Result<c_int>) -> c_int {
    let _inside = Inside::enter();
    ffi::boundary(Obj::Win(win), func, || {
        let mut plan = Plan::new(func);
        let rc = f(&mut plan)?;
        // MPI_PROC_NULL as target: nothing moves and nothing is written.
        if rc == 0 && !plan.is_empty() && target != abi().proc_null {
            with_entry(win, |w| w.pending.push(Pending { target, plan }));
        }
        Ok(rc)
    })
}

/// A synchronization call on a window.
#[derive(Clone, Copy, Debug)]
pub enum Sync {
    Fence { assert: c_int },
    Post { assert: c_int },
    Start { group: Group },
    Complete,
    Wait,
    Test { flag: *mut c_int },
    Lock { rank: c_int },
    LockAll,
    Unlock { rank: c_int },
    UnlockAll,
    /// MPI_Win_flush and MPI_Win_flush_local.
    Flush { rank: c_int },
    /// MPI_Win_flush_all and MPI_Win_flush_local_all.
    FlushAll,
    WinSync,
}

/// Runs synchronization `s` of `win`, with `real` calling the real function: merges the shadow and
/// completes the staged operations around it. Windows the shim knows nothing about are forwarded.
///
/// # Safety
/// `win` and the pointers in `s` are the application's arguments to `func`.
pub unsafe fn sync(win: Win, func: &'static str, s: Sync, real: impl FnOnce() -> c_int) -> c_int {
    let _inside = Inside::enter();
    let Some(slot) = lookup(win) else {
        return ffi::boundary(Obj::Win(win), func, || {
            let rc = real();
            // Request-based operations the application freed complete here at the latest.
            requests::progress_orphans(false);
            Ok(rc)
        });
    };
    let abi = abi();
    let rc = ffi::boundary(Obj::Win(win), func, || {
        // Before the real call: make the application's stores public.
        let pre = {
            let mut w = slot.lock();
            match s {
                Sync::Fence { assert } | Sync::Post { assert } => w.push(assert & abi.mode_nostore == 0),
                Sync::Unlock { rank } => {
                    let me = w.is_me(rank);
                    w.push(me)
                }
                Sync::UnlockAll | Sync::WinSync => w.push(true),
                _ => Ok(false),
            }
        };
        // The real call always happens: most of these are collective or pair with other processes.
        let rc = real();
        if rc != 0 {
            if let Err(e) = pre {
                log::error!("{func}: {}", e.msg);
            }
            return Ok(rc); // the real MPI reported it; nothing completed
        }
        let synced = matches!(pre, Ok(true));
        // After it: make RMA updates visible in VE memory, then complete the staged operations.
        let (plans, post) = {
            let mut w = slot.lock();
            match s {
                Sync::Fence { .. } => (w.take(Targets::All), w.pull(true, synced)),
                Sync::Post { .. } => (Vec::new(), Ok(())),
                Sync::Start { group } => {
                    // SAFETY: group is the application's argument.
                    let r = unsafe { targets_of(group, win) }.map(|t| w.access = Some(t));
                    (Vec::new(), r)
                }
                Sync::Complete => {
                    let plans = w.take(Targets::Access);
                    w.access = None;
                    (plans, Ok(()))
                }
                Sync::Wait => (Vec::new(), w.pull(true, false)),
                // SAFETY: the real MPI_Win_test set the application's flag.
                Sync::Test { flag } => (Vec::new(), w.pull(!flag.is_null() && unsafe { *flag } != 0, false)),
                Sync::Lock { rank } => {
                    let me = w.is_me(rank);
                    (Vec::new(), w.pull(me, false))
                }
                Sync::LockAll => (Vec::new(), w.pull(true, false)),
                Sync::Unlock { rank } => {
                    let me = w.is_me(rank);
                    (w.take(Targets::One(rank)), w.pull(me, synced))
                }
                Sync::UnlockAll => (w.take(Targets::All), w.pull(true, synced)),
                Sync::Flush { rank } => (w.take(Targets::One(rank)), Ok(())),
                Sync::FlushAll => (w.take(Targets::All), Ok(())),
                Sync::WinSync => (Vec::new(), w.pull(true, synced)),
            }
        };
        let stored = store(plans);
        requests::progress_orphans(false);
        pre.and(post).and(stored).map(|()| 0)
    });
    release_if_idle(win);
    rc
}

/// The window ranks of the members of `group` (MPI_Win_start's target group).
unsafe fn targets_of(group: Group, win: Win) -> Result<Vec<c_int>> {
    let mut wg: u64 = 0;
    let wgp = &mut wg as *mut u64 as *mut c_void;
    let mut n: c_int = 0;
    // SAFETY: out-arguments are locals large enough for a handle or an int; a u64 holds a handle of
    // either ABI (little-endian, so an int handle is its low half).
    unsafe {
        if pmpi::PMPI_Win_get_group(win, wgp) != 0 || pmpi::PMPI_Group_size(group, &mut n) != 0 {
            return Err(Error::new(Class::Arg, "cannot read the group of the window or of MPI_Win_start"));
        }
        let ranks: Vec<c_int> = (0..n.max(0)).collect();
        let mut out = vec![0; ranks.len()];
        let rc = pmpi::PMPI_Group_translate_ranks(group, n, ranks.as_ptr(), Group::from_raw(wg as Handle), out.as_mut_ptr());
        pmpi::PMPI_Group_free(wgp);
        if rc != 0 {
            return Err(Error::new(Class::Arg, format!("cannot translate the ranks of MPI_Win_start's group (MPI_Group_translate_ranks returned {rc})")));
        }
        Ok(out)
    }
}

/// MPI_Win_free of the window at `*win`: after the real call, pulls the last RMA updates into VE
/// memory and completes what is still staged (an erroneous program left an epoch open), then drops
/// the shadow. Errors go to MPI_COMM_WORLD's handler, the window being gone.
///
/// # Safety
/// `win` is the application's argument to MPI_Win_free.
pub unsafe fn free(win: *mut c_void, func: &'static str, real: impl FnOnce() -> c_int) -> c_int {
    // SAFETY: the application passes a pointer to its window handle.
    let h = Win::from_raw(unsafe { abi().handle_at(win, 0) });
    if lookup(h).is_none() {
        return real();
    }
    let _inside = Inside::enter();
    let rc = real();
    if rc != 0 {
        return rc;
    }
    let Some(slot) = remove(h) else { return 0 };
    ffi::boundary(Obj::World, func, || {
        let mut w = slot.lock();
        let pulled = w.pull(true, false);
        let plans = w.take(Targets::All);
        w.shadow = None;
        drop(w);
        pulled.and(store(plans)).map(|()| 0)
    })
}

/// MPI_Win_create with a VE base: creates the real window on a host shadow holding the current
/// contents of the VE memory. `real(base)` calls the real function with the shadow as base and
/// stores the new window in `*win`.
///
/// # Safety
/// The arguments are the application's arguments to `func`.
pub unsafe fn create(base: usize, size: Aint, comm: Comm, win: *mut c_void, func: &'static str, real: impl FnOnce(*mut c_void) -> c_int) -> c_int {
    let _inside = Inside::enter();
    ffi::boundary(Obj::Comm(comm), func, || {
        if size < 0 {
            return Err(Error::new(Class::Arg, format!("negative window size {size}")));
        }
        if win.is_null() {
            return Err(Error::new(Class::Arg, "NULL window out-argument"));
        }
        let mut rank: c_int = 0;
        // SAFETY: out-pointer to a local.
        let rc = unsafe { pmpi::PMPI_Comm_rank(comm, &mut rank) };
        if rc != 0 {
            return Err(Error::new(Class::Arg, format!("invalid communicator {comm:#x} (MPI_Comm_rank returned {rc})")));
        }
        let shadow = Shadow::new(base, size as usize, rank)?;
        let rc = real(shadow.public.as_ptr().cast());
        if rc == 0 {
            // SAFETY: the real call stored the new window there.
            let h = Win::from_raw(unsafe { abi().handle_at(win, 0) });
            log::debug!("{func}: window {h:#x} on {size} bytes of VE memory at {base:#x}, host shadow at {:p}", shadow.public.as_ptr());
            with_entry(h, |w| {
                w.pending.clear();
                w.access = None;
                w.shadow = Some(shadow);
            });
        }
        Ok(rc)
    })
}

/// MPI_Win_get_attr of a shadowed window: MPI_WIN_BASE is the application's VE base, MPI_WIN_MODEL
/// is MPI_WIN_SEPARATE. None means the real function answers.
///
/// # Safety
/// `val` and `flag` are the application's out-arguments.
pub unsafe fn get_attr(win: Win, keyval: c_int, val: *mut c_void, flag: *mut c_int) -> Option<c_int> {
    let abi = abi();
    if (keyval != abi.win_base_keyval && keyval != abi.win_model_keyval) || val.is_null() || flag.is_null() {
        return None;
    }
    let slot = lookup(win)?;
    let w = slot.lock();
    let s = w.shadow.as_ref()?;
    // SAFETY: for these keyvals the attribute value is a pointer, written through val.
    unsafe {
        if keyval == abi.win_base_keyval {
            (val as *mut *mut c_void).write_unaligned(s.ve as *mut c_void);
        } else {
            (val as *mut *const c_int).write_unaligned(&*s.model);
        }
        flag.write(1);
    }
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_differences() {
        let a = vec![0u8; 2000];
        let mut b = a.clone();
        assert!(diff_runs(&a, &b, 0).is_empty());
        b[3] = 1;
        b[4] = 1;
        b[10] = 1;
        b[1999] = 7;
        assert_eq!(diff_runs(&a, &b, 0), vec![(3, 2), (10, 1), (1999, 1)]);
        assert_eq!(diff_runs(&a, &b, 8), vec![(3, 8), (1999, 1)]);
        assert_eq!(diff_runs(&a, &b, 5000), vec![(3, 1997)]);
    }

    /// The three-way merge on host vectors: VE memory is `private`, the real window `public`.
    fn merge_case(gap: usize) {
        let n = 3000;
        let mut private: Vec<u8> = (0..n).map(|i| i as u8).collect();
        let mut public = private.clone();
        let mut snap = private.clone();
        // The application stores to bytes 10..20 of VE memory; RMA updates bytes 100..110 and 2990..
        // of the shadow; both write byte 500 with the same value (not a conflict).
        private[10..20].fill(0xAA);
        public[100..110].fill(0xBB);
        public[2990..].fill(0xCC);
        private[500] = 0xDD;
        public[500] = 0xDD;
        let pp = public.as_mut_ptr();
        push_with(&mut snap, pp, |off, buf| {
            buf.copy_from_slice(&private[off..off + buf.len()]);
            Ok(())
        })
        .unwrap();
        assert_eq!(&public[10..20], &[0xAA; 10]);
        assert_eq!(&public[100..110], &[0xBB; 10], "the push leaves RMA updates alone");
        let mut writes = 0;
        pull_with(&mut snap, public.as_ptr(), gap, |off, data| {
            private[off..off + data.len()].copy_from_slice(data);
            writes += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(private, public, "both copies agree after push and pull");
        assert_eq!(snap, public);
        assert!(writes <= 2, "{writes} VE writes");
    }

    #[test]
    fn three_way_merge() {
        merge_case(0);
        merge_case(GAP);
    }

    #[test]
    fn merge_across_chunks() {
        let n = 2 * CHUNK + 100;
        let mut private = vec![3u8; n];
        let mut public = private.clone();
        let mut snap = private.clone();
        private[CHUNK - 2..CHUNK + 2].fill(4); // a local store across a chunk boundary
        public[2 * CHUNK - 1..2 * CHUNK + 1].fill(5); // an RMA update across the next one
        push_with(&mut snap, public.as_mut_ptr(), |off, buf| {
            buf.copy_from_slice(&private[off..off + buf.len()]);
            Ok(())
        })
        .unwrap();
        pull_with(&mut snap, public.as_ptr(), GAP, |off, data| {
            private[off..off + data.len()].copy_from_slice(data);
            Ok(())
        })
        .unwrap();
        assert!(private == public && snap == public);
        assert_eq!(&public[CHUNK - 3..CHUNK + 3], &[3, 4, 4, 4, 4, 3]);
        assert_eq!(&private[2 * CHUNK - 2..2 * CHUNK + 2], &[3, 5, 5, 3]);
    }

    #[test]
    fn pull_keeps_unpushed_local_stores() {
        let mut private = vec![1u8; 600];
        let mut public = private.clone();
        let mut snap = private.clone();
        private[5] = 9; // a local store not yet pushed
        public[7] = 8; // an RMA update
        pull_with(&mut snap, public.as_ptr(), 0, |off, data| {
            private[off..off + data.len()].copy_from_slice(data);
            Ok(())
        })
        .unwrap();
        assert_eq!((private[5], private[7]), (9, 8));
        push_with(&mut snap, public.as_mut_ptr(), |off, buf| {
            buf.copy_from_slice(&private[off..off + buf.len()]);
            Ok(())
        })
        .unwrap();
        assert_eq!(public, private);
    }
}
