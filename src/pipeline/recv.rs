//! The receive side: watching receives for a header, and receiving the chunks it announces.
//!
//! A receive that may bring a pipelined message is watched ([`Watch`], kept in its staging plan as
//! [`State::Watch`]); when it completes, [`complete`] looks at what arrived, and if it is a header
//! receives the chunks into the receive buffer (directly into a host buffer, through a ring of chunk
//! buffers and the copy engine into a VE buffer, through MPI's unpacking for a non-contiguous type)
//! and gives the status the whole message's size.

use super::comms::{active, hp, priv_world, self_copy};
use crate::real::pmpi::direct::PMPI_Irecv;
use crate::real::pmpi::{PMPI_Get_elements_x, PMPI_Status_set_elements_x, PMPI_Test};
use super::wait::wait_one;
use super::wire::{linear, Header, HEADER_LEN};
use super::State;
use crate::abi::{Class, Datatype, StatusBuf};
use crate::datatype::{self, TypeInfo};
use crate::dma::{self, Slot};
use crate::errors::{Error, Result};
use crate::pool::PoolBuf;
use crate::stage::Plan;
use crate::stats::PIPELINED;
use crate::tune;
use crate::ve;
use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;

/// Chunk buffers of a VE receive.
const RING: usize = 4;
/// Chunk receives into a host buffer posted at once.
const BATCH: usize = 64;

/// Where a watched receive's data goes.
#[derive(Clone, Copy)]
pub(super) enum Dest {
    /// The application's host buffer.
    Host,
    /// A VE buffer at this address, staged at the watch's `ptr`.
    Ve(usize),
}

/// A receive that may bring a protocol header.
pub struct Watch {
    pub(super) dest: Dest,
    /// The receive buffer as given to MPI (host buffer, or staging buffer standing for the VE one).
    pub(super) ptr: *mut u8,
    pub(super) count: i64,
    pub(super) dt: Datatype,
    pub(super) t: TypeInfo,
    /// The status given to a blocking receive (None: the completion call's).
    pub(super) status: Option<*mut c_void>,
    pub(super) own: StatusBuf,
    /// The size of the pipelined message received (statuses reported again get it too).
    pub(super) total: Option<u64>,
}

/// A watch for `count` elements of `dt` received at `ptr`, if the buffer can hold a pipelined message.
pub(super) unsafe fn watch_for(dest: Dest, ptr: *mut c_void, count: i64, dt: Datatype) -> Option<Watch> {
    if !active() || count <= 0 {
        return None;
    }
    // SAFETY: dt is the application's datatype.
    let t = unsafe { datatype::info(dt) }.ok()?;
    if (t.size as u64).saturating_mul(count as u64) < tune::MIN_THRESHOLD {
        return None;
    }
    Some(Watch { dest, ptr: ptr.cast(), count, dt, t, status: None, own: StatusBuf::new(), total: None })
}

/// Message-form hook (`crate::msg`): a receive of `(buf, count, dt)`, given to MPI as `staged`, may
/// bring a pipelined message. `status` is a blocking receive's status (Some), for which the status to
/// give MPI is returned (the plan's own if the application passed MPI_STATUS_IGNORE).
///
/// # Safety
/// The arguments are the application's; `plan` does not move until the operation completes
/// (blocking) or `status` is None.
#[inline]
pub unsafe fn watch(plan: &mut Plan, buf: *const c_void, staged: *mut c_void, count: i64, dt: Datatype, status: Option<*mut c_void>) -> *mut c_void {
    let st = status.unwrap_or(std::ptr::null_mut());
    if !tune::pipeline() {
        return st;
    }
    // SAFETY: forwarded contract.
    unsafe { watch_slow(plan, buf, staged, count, dt, status) }
}

#[cold]
unsafe fn watch_slow(plan: &mut Plan, buf: *const c_void, staged: *mut c_void, count: i64, dt: Datatype, status: Option<*mut c_void>) -> *mut c_void {
    let st = status.unwrap_or(std::ptr::null_mut());
    let dest = if ve::is_ve(buf) { Dest::Ve(buf as usize) } else { Dest::Host };
    // SAFETY: forwarded contract.
    let Some(w) = (unsafe { watch_for(dest, staged, count, dt) }) else { return st };
    // Boxed before the status pointer is taken: the box does not move with the plan.
    let mut b = Box::new(State::Watch(w));
    let mut ret = st;
    if let (State::Watch(w), Some(s)) = (&mut *b, status) {
        let s = if crate::real::abi().is_status_ignore(s) { w.own.as_mut_ptr() } else { s };
        w.status = Some(s);
        ret = s;
    }
    plan.pipe = Some(b);
    ret
}

/// [`Plan::store`] hook: the watched receive completed with `status` (None: the blocking receive's).
/// Returns Ok(true) when the plan's own stores must be skipped (the data went to its destination).
///
/// # Safety
/// `status` is NULL or a status of the real MPI for this receive; the buffers are allocated.
pub unsafe fn complete(state: &mut State, status: Option<*const c_void>) -> Result<bool> {
    let State::Watch(w) = state else { return Ok(false) };
    let st = match status.or(w.status.map(|s| s as *const c_void)) {
        Some(s) if !s.is_null() && !crate::real::abi().is_status_ignore(s) => s as *mut c_void,
        _ => return Ok(false),
    };
    w.total = None; // a new message (persistent receives complete many)
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { header_in(w, st) }) else { return Ok(false) };
    // SAFETY: forwarded contract.
    unsafe { receive_chunks(w, &h) }?;
    w.total = Some(h.total);
    // SAFETY: st is a status of the real MPI.
    unsafe { PMPI_Status_set_elements_x(st, crate::real::abi().h.byte, h.total as i64) };
    PIPELINED.fetch_add(1, Ordering::Relaxed);
    // A VE buffer of a non-contiguous type was unpacked into its staging: the plan stores it.
    Ok(!matches!(w.dest, Dest::Ve(_)) || linear(&w.t))
}

/// The completion of a receive whose data was stored already is reported again
/// (MPI_Request_get_status, then Wait): a pipelined message's status gets its size again.
///
/// # Safety
/// `status` is a status of the real MPI for this receive.
pub unsafe fn report_again(state: &mut State, status: *const c_void) {
    if let State::Watch(Watch { total: Some(total), .. }) = state {
        if !crate::real::abi().is_status_ignore(status) {
            // SAFETY: forwarded contract.
            unsafe { PMPI_Status_set_elements_x(status as *mut c_void, crate::real::abi().h.byte, *total as i64) };
        }
    }
}

/// The header the receive brought, if it brought one.
unsafe fn header_in(w: &Watch, st: *const c_void) -> Option<Header> {
    let abi = crate::real::abi();
    let mut n: i64 = 0;
    // SAFETY: st is a status of the real MPI.
    if unsafe { PMPI_Get_elements_x(st, abi.h.byte, &mut n) } != 0 || n != HEADER_LEN as i64 {
        return None;
    }
    let mut h = Header::default();
    let hb = &mut h as *mut Header as *mut u8;
    if linear(&w.t) {
        // SAFETY: the buffer holds at least MIN_THRESHOLD bytes from its start (true_lb 0).
        unsafe { std::ptr::copy_nonoverlapping(w.ptr, hb, HEADER_LEN) };
    } else {
        // The header's bytes were laid out by the datatype: gather the first elements back.
        let k = ((HEADER_LEN as i64 + w.t.size - 1) / w.t.size).min(w.count);
        let tmp = PoolBuf::get((k * w.t.size) as usize).ok()?;
        // SAFETY: forwarded contract; tmp holds k elements' bytes.
        if unsafe { self_copy(w.ptr as *const c_void, k, w.dt, tmp.as_ptr().cast(), k * w.t.size, abi.h.byte) } != 0 {
            return None;
        }
        // SAFETY: tmp holds at least HEADER_LEN bytes.
        unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), hb, HEADER_LEN) };
    }
    h.valid().then_some(h)
}

/// Receives the chunks that header `h` announces into the watched receive's buffer.
unsafe fn receive_chunks(w: &mut Watch, h: &Header) -> Result<()> {
    let abi = crate::real::abi();
    let capacity = (w.t.size as u64).saturating_mul(w.count as u64);
    let total = h.total;
    let chunk = h.chunk;
    if total > capacity {
        // Drain the chunks so the sender finishes, and report what MPI would have.
        // SAFETY: scratch receives.
        unsafe { drain(h) }?;
        return Err(Error::new(
            Class::Truncate,
            format!("message truncated: a pipelined message of {total} bytes arrived for a receive buffer of {capacity} bytes"),
        ));
    }
    let n = total.div_ceil(chunk);
    let len_of = |k: u64| chunk.min(total - k * chunk);
    match (w.dest, linear(&w.t)) {
        (Dest::Host, true) => {
            // Straight into the application's buffer.
            let mut k = 0;
            while k < n {
                let m = (n - k).min(BATCH as u64) as usize;
                let mut reqs = [0u64; BATCH];
                for (i, r) in reqs.iter_mut().enumerate().take(m) {
                    let kk = k + i as u64;
                    // SAFETY: the chunk lies inside the application's buffer (total <= capacity).
                    unsafe { irecv_chunk(w.ptr.add((kk * chunk) as usize), len_of(kk), h, r) }?;
                }
                // SAFETY: the requests were posted above.
                unsafe { wait_all(&mut reqs[..m]) }?;
                k += m as u64;
            }
            Ok(())
        }
        (Dest::Ve(ve), true) => {
            // A ring of chunk buffers: chunk k goes to VE memory while chunk k+1 arrives.
            // SAFETY: forwarded contract.
            unsafe { ring_to_ve(ve, n, chunk, total, h) }
        }
        (_, false) => {
            // The stream into one buffer, then laid out by the receive datatype.
            let tmp = PoolBuf::get(total as usize)?;
            let mut k = 0;
            while k < n {
                let m = (n - k).min(BATCH as u64) as usize;
                let mut reqs = [0u64; BATCH];
                for (i, r) in reqs.iter_mut().enumerate().take(m) {
                    let kk = k + i as u64;
                    // SAFETY: tmp holds total bytes.
                    unsafe { irecv_chunk(tmp.as_ptr().add((kk * chunk) as usize), len_of(kk), h, r) }?;
                }
                // SAFETY: the requests were posted above.
                unsafe { wait_all(&mut reqs[..m]) }?;
                k += m as u64;
            }
            // SAFETY: tmp holds total bytes; the receive buffer holds count elements.
            let rc = unsafe { self_copy(tmp.as_ptr().cast(), total as i64, abi.h.byte, w.ptr.cast(), w.count, w.dt) };
            if rc != 0 {
                return Err(Error::new(Class::Intern, format!("cannot lay out a pipelined message by the receive datatype (error {rc})")));
            }
            Ok(())
        }
    }
}

unsafe fn irecv_chunk(p: *mut u8, len: u64, h: &Header, req: &mut u64) -> Result<()> {
    let abi = crate::real::abi();
    // SAFETY: p is valid for len bytes (caller); the private communicator exists.
    let rc = unsafe { PMPI_Irecv(p.cast(), len as c_int, abi.h.byte, h.src, h.xtag, priv_world(), hp(req)) };
    if rc != 0 {
        return Err(Error::new(Class::Intern, format!("cannot receive a chunk of a pipelined message (error {rc})")));
    }
    Ok(())
}

/// Waits for chunk receives, testing them in turn so the copy thread and other work can run.
unsafe fn wait_all(reqs: &mut [u64]) -> Result<()> {
    for r in reqs.iter_mut() {
        // SAFETY: a request posted by the caller.
        unsafe { wait_one(r) }?;
    }
    Ok(())
}

/// Receives and discards the chunks of a message that does not fit.
unsafe fn drain(h: &Header) -> Result<()> {
    let c = h.chunk.min(h.total.max(1));
    let scratch = PoolBuf::get(c as usize)?;
    let n = h.total.div_ceil(h.chunk);
    for k in 0..n {
        let mut r = 0u64;
        // SAFETY: scratch holds a chunk.
        unsafe {
            irecv_chunk(scratch.as_ptr(), h.chunk.min(h.total - k * h.chunk), h, &mut r)?;
            wait_one(&mut r)?;
        }
    }
    Ok(())
}

/// Chunks to VE memory through a ring of [`RING`] buffers and the copy engine.
unsafe fn ring_to_ve(ve: usize, n: u64, chunk: u64, total: u64, h: &Header) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Free,
        Receiving(u64),
        Writing(u64),
    }
    let len_of = |k: u64| chunk.min(total - k * chunk);
    let slots = RING.min(n as usize);
    let mut bufs: [Option<PoolBuf>; RING] = Default::default();
    for b in bufs.iter_mut().take(slots) {
        *b = Some(PoolBuf::get(chunk as usize)?);
    }
    let copies: [Slot; RING] = Default::default();
    let mut reqs = [0u64; RING];
    let mut state = [S::Free; RING];
    let (mut next_recv, mut next_write, mut written) = (0u64, 0u64, 0u64);
    let mut failed: Option<Error> = None;
    let buf_of = |i: usize, b: &[Option<PoolBuf>; RING]| b[i].as_ref().map(|p| p.as_ptr()).unwrap_or(std::ptr::null_mut());
    while written < n {
        let mut moved = false;
        for i in 0..slots {
            match state[i] {
                S::Free if next_recv < n && failed.is_none() => {
                    // SAFETY: the slot's buffer holds a chunk.
                    if let Err(e) = unsafe { irecv_chunk(buf_of(i, &bufs), len_of(next_recv), h, &mut reqs[i]) } {
                        failed = Some(e);
                        continue;
                    }
                    state[i] = S::Receiving(next_recv);
                    next_recv += 1;
                    moved = true;
                }
                // Chunks arrive in order; hand them to the copy engine in order.
                S::Receiving(k) if k == next_write => {
                    let mut flag: c_int = 0;
                    let mut st = StatusBuf::new();
                    // SAFETY: a live request of the real MPI.
                    let rc = unsafe { PMPI_Test(hp(&mut reqs[i]), &mut flag, st.as_mut_ptr()) };
                    if rc != 0 {
                        failed.get_or_insert(Error::new(Class::Intern, format!("a chunk of a pipelined message failed (error {rc})")));
                        state[i] = S::Free;
                        written += 1;
                        next_write += 1;
                        continue;
                    }
                    if flag != 0 {
                        let dst = ve + (k * chunk) as usize;
                        // SAFETY: the slot's buffer and copy slot stay until the copy reports (the
                        // loop does not end before every slot is Free).
                        unsafe {
                            if !dma::submit(false, dst, buf_of(i, &bufs), len_of(k) as usize, &copies[i]) {
                                dma::copy_now(false, dst, buf_of(i, &bufs), len_of(k) as usize, &copies[i]);
                            }
                        }
                        state[i] = S::Writing(k);
                        next_write += 1;
                        moved = true;
                    }
                }
                S::Writing(k) if copies[i].done() => {
                    if !copies[i].ok() {
                        failed.get_or_insert(Error::new(
                            Class::Buffer,
                            format!("copy of a {} byte chunk to VE address {:#x} failed: not VE memory of this process", len_of(k), ve + (k * chunk) as usize),
                        ));
                    }
                    state[i] = S::Free;
                    written += 1;
                    moved = true;
                }
                _ => {}
            }
        }
        if failed.is_some() && state.iter().take(slots).all(|s| *s == S::Free) {
            // receive the chunks still coming, so the sender completes
            while next_recv < n {
                let mut r = 0u64;
                // SAFETY: the first buffer holds a chunk.
                unsafe {
                    if irecv_chunk(buf_of(0, &bufs), len_of(next_recv), h, &mut r).is_ok() {
                        let _ = wait_one(&mut r);
                    }
                }
                next_recv += 1;
            }
            break;
        }
        if !moved {
            std::thread::yield_now();
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
