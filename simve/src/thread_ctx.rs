//! Thread contexts (`struct veo_thr_ctxt`): a worker thread per context that executes asynchronous
//! commands in submission order, so that copies overlap with the caller as the VE's DMA engine does.
//! A copy's time on the modeled link is reserved when it is submitted ([`Link::reserve_queued`]):
//! the fixed costs of queued copies overlap one another, their bytes share the direction's channel.
//!
//! [`Link::reserve_queued`]: crate::link::Link::reserve_queued

use crate::link::{Dir, Slot};
use crate::mem::{self, hmem_addr, is_ve_addr};
use crate::proc::{self, ProcHandle, VeProc};
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::mpsc;
use std::sync::Arc;

const VEO_REQUEST_ID_INVALID: u64 = !0;
const VEO_COMMAND_OK: c_int = 0;
const VEO_COMMAND_EXCEPTION: c_int = 1;
const VEO_COMMAND_ERROR: c_int = 2;
const VEO_COMMAND_UNFINISHED: c_int = 3;
const VEO_STATE_RUNNING: c_int = 1;
const VEO_STATE_EXIT: c_int = 4;

enum Cmd {
    Read { dst: usize, src: u64, n: usize, slot: Slot },
    Write { dst: u64, src: usize, n: usize, slot: Slot },
    Vh { func: unsafe extern "C" fn(*mut c_void) -> u64, arg: usize },
}

/// The last finished request id, and request id -> (command state, return value).
type Results = (u64, HashMap<u64, (c_int, u64)>);

struct Done {
    results: Mutex<Results>,
    cv: Condvar,
}

/// `struct veo_thr_ctxt`.
pub struct Context {
    proc: Arc<VeProc>,
    tx: Mutex<Option<mpsc::Sender<(u64, Cmd)>>>,
    next_id: Mutex<u64>,
    /// The link slot of the copy submitted last: later ones queue their bytes behind it.
    last: Mutex<Slot>,
    done: Arc<Done>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

pub unsafe fn open(h: *mut ProcHandle) -> *mut Context {
    // SAFETY: forwarded contract of veo_context_open.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return std::ptr::null_mut() };
    let (tx, rx) = mpsc::channel::<(u64, Cmd)>();
    let done = Arc::new(Done { results: Mutex::new((0, HashMap::new())), cv: Condvar::new() });
    let (wp, wd) = (p.clone(), done.clone());
    let worker = std::thread::Builder::new().name("simve-ctx".into()).spawn(move || {
        for (id, cmd) in rx {
            let (state, ret) = execute(&wp, cmd);
            let mut r = wd.results.lock();
            r.0 = id;
            r.1.insert(id, (state, ret));
            wd.cv.notify_all();
        }
    });
    let Ok(worker) = worker else { return std::ptr::null_mut() };
    Box::into_raw(Box::new(Context {
        proc: p,
        tx: Mutex::new(Some(tx)),
        next_id: Mutex::new(1),
        last: Mutex::new(Slot::none()),
        done,
        worker: Mutex::new(Some(worker)),
    }))
}

fn execute(p: &VeProc, cmd: Cmd) -> (c_int, u64) {
    let rc = match cmd {
        Cmd::Read { dst, src, n, slot } => slot.prepaid(|| mem::ve_to_host(p, dst as *mut u8, src, n)),
        Cmd::Write { dst, src, n, slot } => slot.prepaid(|| mem::host_to_ve(p, dst, src as *const u8, n)),
        // A panic (a Rust callback) must not end the worker: the command reports an exception.
        Cmd::Vh { func, arg } => {
            // SAFETY: the caller of veo_call_async_vh provides a callable function and its argument.
            return match std::panic::catch_unwind(|| unsafe { func(arg as *mut c_void) }) {
                Ok(v) => (VEO_COMMAND_OK, v),
                Err(_) => (VEO_COMMAND_EXCEPTION, 0),
            }
        }
    };
    if rc == 0 { (VEO_COMMAND_OK, 0) } else { (VEO_COMMAND_ERROR, rc as i64 as u64) }
}

unsafe fn ctx<'a>(c: *mut Context) -> Option<&'a Context> {
    // SAFETY: c is NULL or a live context from open(); close() frees it.
    unsafe { c.as_ref() }
}

fn submit(c: &Context, cmd: Cmd) -> u64 {
    let mut next = c.next_id.lock();
    let id = *next;
    let tx = c.tx.lock();
    match tx.as_ref().map(|t| t.send((id, cmd))) {
        Some(Ok(())) => {
            *next += 1;
            id
        }
        _ => VEO_REQUEST_ID_INVALID,
    }
}

/// Reserves the link for a copy submitted on `c` now, behind the copies submitted before on `c`.
fn queue(c: &Context, dir: Dir, n: usize) -> Slot {
    let mut last = c.last.lock();
    let slot = c.proc.link.reserve_queued(dir, n, Some(&last));
    *last = slot.mark();
    slot
}

/// A VE address given to an async copy: an HMEM address of this context's process, or a plain one.
fn ve_target(c: &Context, addr: u64) -> Option<u64> {
    if is_ve_addr(addr) && ((addr & mem::HMEM_PID_MASK) >> mem::HMEM_PID_SHIFT) as u8 != c.proc.id {
        return None;
    }
    Some(hmem_addr(addr))
}

pub unsafe fn async_read(c: *mut Context, dst: *mut u8, src: u64, n: usize) -> u64 {
    // SAFETY: forwarded contract.
    let Some(c) = (unsafe { ctx(c) }) else { return VEO_REQUEST_ID_INVALID };
    match ve_target(c, src) {
        Some(src) => {
            let slot = queue(c, Dir::VeToHost, n);
            submit(c, Cmd::Read { dst: dst as usize, src, n, slot })
        }
        None => VEO_REQUEST_ID_INVALID,
    }
}

pub unsafe fn async_write(c: *mut Context, dst: u64, src: *const u8, n: usize) -> u64 {
    // SAFETY: forwarded contract.
    let Some(c) = (unsafe { ctx(c) }) else { return VEO_REQUEST_ID_INVALID };
    match ve_target(c, dst) {
        Some(dst) => {
            let slot = queue(c, Dir::HostToVe, n);
            submit(c, Cmd::Write { dst, src: src as usize, n, slot })
        }
        None => VEO_REQUEST_ID_INVALID,
    }
}

pub unsafe fn call_vh(c: *mut Context, func: Option<unsafe extern "C" fn(*mut c_void) -> u64>, arg: *mut c_void) -> u64 {
    // SAFETY: forwarded contract.
    let (Some(c), Some(func)) = ((unsafe { ctx(c) }), func) else { return VEO_REQUEST_ID_INVALID };
    submit(c, Cmd::Vh { func, arg: arg as usize })
}

fn take(c: &Context, req: u64, ret: *mut u64, block: bool) -> c_int {
    let mut r = c.done.results.lock();
    loop {
        if let Some((state, v)) = r.1.remove(&req) {
            if !ret.is_null() {
                // SAFETY: ret is the caller's uint64_t.
                unsafe { ret.write(v) };
            }
            return state;
        }
        // Commands finish in submission order, so a request at or below the last finished one that
        // has no result was collected already; one never submitted is above the last id given out.
        // Both are errors (waiting for them would block forever).
        if req == 0 || req <= r.0 || req >= *c.next_id.lock() {
            return VEO_COMMAND_ERROR;
        }
        if !block {
            return VEO_COMMAND_UNFINISHED;
        }
        c.done.cv.wait(&mut r);
    }
}

pub unsafe fn peek(c: *mut Context, req: u64, ret: *mut u64) -> c_int {
    // SAFETY: forwarded contract.
    match unsafe { ctx(c) } {
        Some(c) => take(c, req, ret, false),
        None => VEO_COMMAND_ERROR,
    }
}

pub unsafe fn wait(c: *mut Context, req: u64, ret: *mut u64) -> c_int {
    // SAFETY: forwarded contract.
    match unsafe { ctx(c) } {
        Some(c) => take(c, req, ret, true),
        None => VEO_COMMAND_ERROR,
    }
}

pub unsafe fn sync(c: *mut Context) {
    // SAFETY: forwarded contract.
    let Some(c) = (unsafe { ctx(c) }) else { return };
    let last = *c.next_id.lock() - 1;
    let mut r = c.done.results.lock();
    while r.0 < last {
        c.done.cv.wait(&mut r);
    }
}

pub unsafe fn state(c: *mut Context) -> c_int {
    // SAFETY: forwarded contract.
    match unsafe { ctx(c) } {
        Some(c) if c.tx.lock().is_some() => VEO_STATE_RUNNING,
        _ => VEO_STATE_EXIT,
    }
}

pub unsafe fn close(c: *mut Context) -> c_int {
    if c.is_null() {
        return -1;
    }
    // SAFETY: c came from open(); closing hands the box back.
    let b = unsafe { Box::from_raw(c) };
    drop(b.tx.lock().take()); // ends the worker's loop once the queue is drained
    if let Some(w) = b.worker.lock().take() {
        let _ = w.join();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Link;
    use std::time::{Duration, Instant};

    /// Asynchronous copies run beside the caller: submitting returns before the copy is done (on a
    /// slow link), the caller can work meanwhile, and the data is there once the wait returns.
    #[test]
    fn async_copies_overlap_with_the_caller() {
        let h = proc::create_with_link(0, Link::with_rate(Some(200e6))); // 200 MB/s
        assert!(!h.is_null());
        let n = 4_000_000; // 20 ms each way
        // SAFETY: the context and the VE buffer are created here, the host buffers are n bytes long,
        // and every request is waited for before they are dropped.
        unsafe {
            let mut ve: *mut c_void = std::ptr::null_mut();
            assert_eq!(mem::alloc_hmem(h, &mut ve, n), 0);
            let c = open(h);
            assert!(!c.is_null());
            let src = vec![7u8; n];
            let mut back = vec![0u8; n];
            let t0 = Instant::now();
            let w = async_write(c, ve as u64, src.as_ptr(), n);
            let r = async_read(c, back.as_mut_ptr(), ve as u64, n); // in order, after the write
            assert_ne!(w, VEO_REQUEST_ID_INVALID);
            let mut ret = 0;
            assert_eq!(peek(c, r, &mut ret), VEO_COMMAND_UNFINISHED, "a 20 ms copy is not done at once");
            let work = t0.elapsed();
            assert_eq!(wait(c, w, &mut ret), VEO_COMMAND_OK);
            assert_eq!(wait(c, r, &mut ret), VEO_COMMAND_OK);
            let total = t0.elapsed();
            assert!(total >= Duration::from_millis(38), "two 20 ms transfers in order: {total:?}");
            assert!(work < total);
            assert!(back.iter().all(|&b| b == 7));
            assert_eq!(wait(c, r, &mut ret), VEO_COMMAND_ERROR, "a result is collected once");
            assert_eq!(close(c), 0);
            assert_eq!(mem::free_hmem(ve), 0);
            proc::destroy(h);
        }
    }

    /// Queued copies overlap their fixed costs: 20 small writes on a context take about one fixed
    /// cost, 20 synchronous ones twenty; the data of each lands where it belongs. (The fixed cost is
    /// large, so that a busy machine's scheduling delays stay far inside the bound.)
    #[test]
    fn queued_copies_overlap_their_fixed_costs() {
        use crate::link::Model;
        let m = Model { rate: [Some(10e9); 2], latency: [Duration::from_millis(20); 2] };
        let h = proc::create_with_link(0, Link::with_model(m));
        assert!(!h.is_null());
        // SAFETY: as above; the 20 one-byte writes stay inside the 4096-byte VE buffer.
        unsafe {
            let mut ve: *mut c_void = std::ptr::null_mut();
            assert_eq!(mem::alloc_hmem(h, &mut ve, 4096), 0);
            let c = open(h);
            let src: Vec<u8> = (0..20u8).collect();
            let t0 = Instant::now();
            let reqs: Vec<u64> = (0..20).map(|i| async_write(c, ve as u64 + 8 * i as u64, src.as_ptr().add(i), 1)).collect();
            for r in reqs {
                assert_eq!(wait(c, r, std::ptr::null_mut()), VEO_COMMAND_OK);
            }
            let queued = t0.elapsed();
            let t1 = Instant::now();
            for i in 0..20 {
                assert_eq!(mem::write_mem(h, ve as u64 + 8 * i as u64 + 1, src.as_ptr().add(i), 1), 0);
            }
            let sync = t1.elapsed();
            assert!(queued >= Duration::from_millis(20) && queued < Duration::from_millis(200), "{queued:?}");
            assert!(sync >= Duration::from_millis(400), "{sync:?}");
            let mut back = vec![0u8; 160];
            assert_eq!(mem::read_mem(h, back.as_mut_ptr(), ve as u64, 160), 0);
            for i in 0..20 {
                assert_eq!((back[8 * i], back[8 * i + 1]), (i as u8, i as u8));
            }
            assert_eq!(close(c), 0);
            assert_eq!(mem::free_hmem(ve), 0);
            proc::destroy(h);
        }
    }
}
