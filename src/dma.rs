//! The copy engine: VE copies that run beside the calling thread, as the VE's DMA engine does.
//!
//! Pipelined transfers ([`crate::pipeline`]) hand each chunk's copy (VE to host before sending, host
//! to VE after receiving) to a worker thread per direction (as the PCIe link carries both directions
//! at once), started at the first pipelined transfer,
//! and meanwhile drive MPI. The worker calls libveo's `veo_hmemcpy` ([`crate::ve::copy`]),
//! which takes the direction from the address tags, so it needs no VE process
//! handle (libveo offers no way to get the one of an HMEM address, which `veo_async_read_mem` would
//! need). On the real VE the worker sleeps in the DMA; on the simulated VE with `SIMVE_BANDWIDTH` it
//! sleeps on the modeled link, and at memcpy speed it copies.
//!
//! Each copy reports into a [`Slot`] that the submitter owns and polls; the submitter waits for all
//! its copies before it returns (so the slot outlives the job). The queue keeps its capacity, so
//! steady traffic allocates nothing.

use crate::stats::Dir;
use crate::ve;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, AtomicBool, Ordering};

/// The outcome of one copy: [`PENDING`] until the worker is done, then 0 or a negative error.
pub struct Slot(AtomicI32);

pub const PENDING: i32 = 1;
const FAILED: i32 = -1;

impl Slot {
    pub const fn new() -> Slot {
        Slot(AtomicI32::new(0))
    }

    /// Whether the copy finished (successfully or not).
    #[inline]
    pub fn done(&self) -> bool {
        self.0.load(Ordering::Acquire) != PENDING
    }

    /// The result of a finished copy: true if it succeeded.
    pub fn ok(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::new()
    }
}

struct Job {
    /// VE to host (read) or host to VE (write).
    read: bool,
    ve: usize,
    host: usize,
    len: usize,
    slot: *const Slot,
}

// SAFETY: the host buffer and the slot stay valid until the slot reports completion, by the
// contract of [`submit`]; the worker only touches them for this job.
unsafe impl Send for Job {}

/// One queue and worker per direction: 0 reads (VE to host), 1 writes.
static QUEUE: [Mutex<VecDeque<Job>>; 2] = [const { Mutex::new(VecDeque::new()) }; 2];
static WAKE: [Condvar; 2] = [const { Condvar::new() }; 2];
static STARTED: [AtomicBool; 2] = [const { AtomicBool::new(false) }; 2];

/// The direction of a copy that reads (VE to host) or writes.
fn dir(read: bool) -> Dir {
    if read {
        Dir::FromVe
    } else {
        Dir::ToVe
    }
}

#[cold]
fn start(d: usize) -> bool {
    let _g = QUEUE[d].lock(); // one thread starts the worker
    if STARTED[d].load(Ordering::Acquire) {
        return true;
    }
    let name = if d == 0 { "mpive-dma-read" } else { "mpive-dma-write" };
    let ok = std::thread::Builder::new().name(name.into()).spawn(move || worker(d)).is_ok();
    STARTED[d].store(ok, Ordering::Release);
    ok
}

fn worker(d: usize) {
    loop {
        let job = {
            let mut q = QUEUE[d].lock();
            loop {
                if let Some(j) = q.pop_front() {
                    break j;
                }
                WAKE[d].wait(&mut q);
            }
        };
        // SAFETY: the submitter keeps the host buffer valid for len bytes until the slot reports.
        let r = std::panic::catch_unwind(|| unsafe { ve::copy(dir(job.read), job.ve, job.host as *mut u8, job.len) });
        let rc = match r {
            Ok(Ok(())) => 0,
            _ => FAILED,
        };
        // SAFETY: the slot outlives the job (the submitter waits for it).
        unsafe { (*job.slot).0.store(rc, Ordering::Release) };
    }
}

/// Queues a copy of `len` bytes between VE address `ve` and host memory `host` (`read`: VE to host).
/// Returns false when no worker thread can run; the caller then copies itself.
///
/// # Safety
/// `host` is valid for `len` bytes and `slot` stays alive (not moved) until `slot.done()`; the
/// caller waits for that before it returns or reuses either.
pub unsafe fn submit(read: bool, ve: usize, host: *mut u8, len: usize, slot: &Slot) -> bool {
    let d = (!read) as usize;
    if !STARTED[d].load(Ordering::Acquire) && !start(d) {
        return false;
    }
    slot.0.store(PENDING, Ordering::Relaxed);
    QUEUE[d].lock().push_back(Job { read, ve, host: host as usize, len, slot });
    WAKE[d].notify_one();
    true
}

/// Copies synchronously on the calling thread (no worker), recording the outcome in `slot`.
///
/// # Safety
/// As for [`submit`].
pub unsafe fn copy_now(read: bool, ve: usize, host: *mut u8, len: usize, slot: &Slot) {
    // SAFETY: forwarded contract.
    let r = unsafe { ve::copy(dir(read), ve, host, len) };
    slot.0.store(if r.is_ok() { 0 } else { FAILED }, Ordering::Release);
}
