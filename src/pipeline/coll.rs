//! Pipelined MPI_Allreduce and MPI_Bcast of large buffers (MPIVE_PIPELINE=1).
//!
//! A collective can only be split if every rank splits it the same way, so the decision depends only
//! on what all ranks share: the size in bytes, the kind of communicator, the settings (the same on
//! every rank, as for point-to-point) and, for Allreduce, the datatype (the same on every rank by the
//! standard). Ranks with host buffers split too (the interposers of PMPI_Allreduce and PMPI_Bcast);
//! their chunks need no copies. A rank with VE buffers runs the chunks through a ring of 4 host
//! buffers: the copy engine loads chunk k+2 and stores chunk k-1 while MPI works on chunk k.
//!
//! Allreduce is split for predefined contiguous datatypes, at element boundaries, when
//! MPIVE_PIPELINE_ALLREDUCE=1: splitting pays for VE buffers on a DMA-speed link, but ranks with host
//! buffers must split too, and on Open MPI 4.1 their chunked nonblocking Allreduce was up to 1.5 times
//! slower than one blocking call (docs/performance.md). Bcast is split in
//! bytes on intracommunicators; a rank whose datatype is not contiguous lays the bytes out with MPI
//! (the message as one stream, as in point-to-point). Only the blocking forms are split. Every rank
//! runs the chunks as nonblocking collectives (a blocking collective does not match a nonblocking
//! one), waited for by polling, so that the copy threads get the CPU meanwhile.

use super::comms::{active, hp, self_copy};
use crate::real::pmpi::{PMPI_Comm_rank, PMPI_Comm_test_inter, PMPI_Iallreduce, PMPI_Ibcast};
use super::ticket;
use super::wait::{spin, wait_one};
use super::wire::linear;
use crate::abi::{Class, Comm, Datatype, Op};
use crate::datatype::{self, TypeInfo};
use crate::dma::{self, Slot};
use crate::errors::{Error, Obj, Result};
use crate::pool::PoolBuf;
use crate::stage::{Plan, Use};
use crate::stats::{count_staged_call, PIPELINED};
use crate::tune;
use crate::ve;
use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;

const RING: usize = 4;
/// Chunks loaded ahead of the one MPI works on.
const AHEAD: usize = 2;

fn split_allreduce(count: i64, t: &TypeInfo) -> bool {
    active() && tune::pipeline_allreduce() && linear(t) && count > 0 && (t.size as u64).saturating_mul(count as u64) >= tune::threshold()
}

unsafe fn split_bcast(total: u64, comm: Comm) -> bool {
    if !active() || !tune::pipeline_send() || total < tune::threshold() {
        return false;
    }
    let mut inter: c_int = 0;
    // SAFETY: an out-pointer to a local; comm is the application's communicator.
    unsafe { PMPI_Comm_test_inter(comm, &mut inter) == 0 && inter == 0 }
}

/// Message-form hook (`crate::msg::allreduce`): a blocking Allreduce that is split keeps its VE
/// buffers unstaged; the interposer runs the chunks.
///
/// # Safety
/// The arguments are the application's.
#[inline]
pub unsafe fn allreduce_form(plan: &Plan, sbuf: *const c_void, rbuf: *mut c_void, count: i64, dt: Datatype) -> Option<(*const c_void, *mut c_void)> {
    if !tune::pipeline() || plan.func != "MPI_Allreduce" {
        return None;
    }
    // SAFETY: the application's datatype.
    let t = unsafe { datatype::info(dt) }.ok()?;
    split_allreduce(count, &t).then_some((sbuf, rbuf))
}

/// Message-form hook (`crate::msg::bcast`): as [`allreduce_form`], but the buffer returned is a
/// ticket ([`ticket`]) through which the interposer gets the plan (for a datatype that is not
/// contiguous) and the VE buffer.
///
/// # Safety
/// The arguments are the application's; `plan` stays where it is until the real call returned.
#[inline]
pub unsafe fn bcast_form(plan: &mut Plan, buf: *mut c_void, count: i64, dt: Datatype, comm: Comm) -> Option<*mut c_void> {
    if !tune::pipeline() || plan.func != "MPI_Bcast" || count <= 0 {
        return None;
    }
    // SAFETY: the application's datatype and communicator.
    let t = unsafe { datatype::info(dt) }.ok()?;
    // SAFETY: as above.
    if !unsafe { split_bcast((t.size as u64).saturating_mul(count as u64), comm) } {
        return None;
    }
    Some(ticket::issue(plan, buf))
}

/// Runs `n` chunks through a ring of host buffers: `load(k)` is the VE address chunk k is loaded
/// from before `op`, `store(k)` the one it is stored to after; `op(k, host)` is the MPI call.
/// Every chunk's MPI call is made even after a failed copy (the other ranks are in the collective
/// too); the first failure is returned at the end.
unsafe fn ring(
    n: usize,
    chunk: usize,
    len_of: &dyn Fn(usize) -> usize,
    load: Option<&dyn Fn(usize) -> usize>,
    store: Option<&dyn Fn(usize) -> usize>,
    op: &mut dyn FnMut(usize, *mut u8) -> c_int,
) -> Result<c_int> {
    let mut bufs: [Option<PoolBuf>; RING] = Default::default();
    for b in bufs.iter_mut().take(RING.min(n)) {
        *b = Some(PoolBuf::get(chunk)?);
    }
    let host = |i: usize, b: &[Option<PoolBuf>; RING]| b[i % RING].as_ref().map_or(std::ptr::null_mut(), |p| p.as_ptr());
    let loads: [Slot; RING] = Default::default();
    let stores: [Slot; RING] = Default::default();
    let mut failed: Option<Error> = None;
    let mut rc = 0;
    let copy = |read: bool, ve: usize, h: *mut u8, len: usize, slot: &Slot| {
        // SAFETY: h holds a chunk; the slot lives until the end of this function, which waits for it.
        unsafe {
            if !dma::submit(read, ve, h, len, slot) {
                dma::copy_now(read, ve, h, len, slot);
            }
        }
    };
    if let Some(l) = load {
        for j in 0..AHEAD.min(n) {
            copy(true, l(j), host(j, &bufs), len_of(j), &loads[j % RING]);
        }
    }
    for k in 0..n {
        let s = k % RING;
        spin(|| stores[s].done()); // chunk k-4's store has left this buffer
        if load.is_some() {
            spin(|| loads[s].done());
            if !loads[s].ok() && failed.is_none() {
                failed = Some(Error::new(Class::Buffer, format!("copy of a {} byte chunk from VE memory failed", len_of(k))));
            }
        }
        let r = op(k, host(k, &bufs));
        if r != 0 && rc == 0 {
            rc = r;
        }
        if let Some(st) = store {
            copy(false, st(k), host(k, &bufs), len_of(k), &stores[s]);
        }
        if let Some(l) = load {
            let j = k + AHEAD;
            if j < n {
                spin(|| stores[j % RING].done());
                copy(true, l(j), host(j, &bufs), len_of(j), &loads[j % RING]);
            }
        }
    }
    for st in &stores {
        spin(|| st.done());
    }
    if store.is_some() && failed.is_none() && stores.iter().any(|s| !s.ok()) {
        failed = Some(Error::new(Class::Buffer, "copy of a chunk to VE memory failed"));
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(rc),
    }
}

/// A chunk's collective, nonblocking, waited for by polling: the copy threads get the CPU while this
/// thread waits (the MPI's own blocking wait may spin without yielding, and cores can be few).
unsafe fn nb(start: impl FnOnce(*mut c_void) -> c_int) -> c_int {
    let mut req = 0u64;
    let rc = start(hp(&mut req));
    if rc != 0 {
        return rc;
    }
    // SAFETY: the request the call above started.
    match unsafe { wait_one(&mut req) } {
        Ok(()) => 0,
        Err(_) => crate::real::abi().class(Class::Intern),
    }
}

type AllreduceFn = unsafe extern "C" fn(*const c_void, *mut c_void, c_int, Datatype, Op, Comm) -> c_int;
type BcastFn = unsafe extern "C" fn(*mut c_void, c_int, Datatype, c_int, Comm) -> c_int;

pub(super) unsafe extern "C" fn i_allreduce(sbuf: *const c_void, rbuf: *mut c_void, count: c_int, dt: Datatype, op: Op, comm: Comm) -> c_int {
    let f = lib_fn!("PMPI_Allreduce", AllreduceFn);
    if !active() {
        // SAFETY: forwarding the arguments unchanged.
        return unsafe { f(sbuf, rbuf, count, dt, op, comm) };
    }
    crate::ffi::boundary(Obj::Comm(comm), "MPI_Allreduce", || {
        // SAFETY: the application's datatype.
        let t = match unsafe { datatype::info(dt) } {
            Ok(t) if split_allreduce(count as i64, &t) => t,
            // SAFETY: forwarding the arguments unchanged.
            _ => return Ok(unsafe { f(sbuf, rbuf, count, dt, op, comm) }),
        };
        // SAFETY: the application's arguments.
        unsafe { allreduce_chunks(sbuf, rbuf, count, dt, op, comm, &t) }
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn allreduce_chunks(sbuf: *const c_void, rbuf: *mut c_void, count: c_int, dt: Datatype, op: Op, comm: Comm, t: &TypeInfo) -> Result<c_int> {
    let abi = crate::real::abi();
    let size = t.size as usize;
    let per = (tune::chunk() as usize / size).max(1); // elements per chunk
    let n = (count as usize).div_ceil(per);
    let chunk = per * size;
    let cnt = |k: usize| per.min(count as usize - k * per);
    let len_of = |k: usize| cnt(k) * size;
    let in_place = abi.is_in_place(sbuf);
    let (s_ve, r_ve) = (!in_place && ve::is_ve(sbuf), ve::is_ve(rbuf));
    let off = |k: usize| k * chunk;
    if !s_ve && !r_ve {
        // host buffers: chunks straight from and to them
        let mut rc = 0;
        for k in 0..n {
            let s = if in_place { sbuf } else { (sbuf as usize + off(k)) as *const c_void };
            // SAFETY: the chunk lies inside the application's buffers.
            let r = unsafe { nb(|q| PMPI_Iallreduce(s, (rbuf as usize + off(k)) as *mut c_void, cnt(k) as c_int, dt, op, comm, q)) };
            if r != 0 && rc == 0 {
                rc = r;
            }
        }
        return Ok(rc);
    }
    count_staged_call();
    PIPELINED.fetch_add(1, Ordering::Relaxed);
    let (s0, r0) = (sbuf as usize, rbuf as usize);
    let load_from = move |k: usize| if in_place { r0 + off(k) } else { s0 + off(k) };
    let store_to = move |k: usize| r0 + off(k);
    let inplace = abi.in_place as *const c_void;
    // SAFETY: the chunks lie inside the application's buffers; the host buffers hold a chunk.
    unsafe {
        if r_ve {
            // the result in the ring buffer, then to VE memory; the input loaded into it first
            // unless it is a host send buffer
            let loaded = in_place || s_ve;
            ring(
                n,
                chunk,
                &len_of,
                loaded.then_some(&load_from as &dyn Fn(usize) -> usize),
                Some(&store_to),
                &mut |k, h| {
                    let s = if loaded { inplace } else { (s0 + off(k)) as *const c_void };
                    nb(|r| PMPI_Iallreduce(s, h.cast(), cnt(k) as c_int, dt, op, comm, r))
                },
            )
        } else {
            // VE send buffer, host receive buffer
            ring(n, chunk, &len_of, Some(&load_from), None, &mut |k, h| {
                nb(|r| PMPI_Iallreduce(h as *const c_void, (r0 + off(k)) as *mut c_void, cnt(k) as c_int, dt, op, comm, r))
            })
        }
    }
}

pub(super) unsafe extern "C" fn i_bcast(buf: *mut c_void, count: c_int, dt: Datatype, root: c_int, comm: Comm) -> c_int {
    let f = lib_fn!("PMPI_Bcast", BcastFn);
    // a VE buffer comes as the ticket bcast_form issued, which names its plan
    let (plan, buf) = match ve::is_ve(buf).then(|| ticket::claim(buf)).flatten() {
        Some((plan, b)) => (plan, b as *mut c_void),
        None => (std::ptr::null_mut(), buf),
    };
    if !active() || count <= 0 {
        // SAFETY: forwarding the arguments unchanged.
        return unsafe { f(buf, count, dt, root, comm) };
    }
    crate::ffi::boundary(Obj::Comm(comm), "MPI_Bcast", || {
        // SAFETY: the application's datatype and communicator.
        let t = match unsafe { datatype::info(dt) } {
            // SAFETY: the application's communicator.
            Ok(t) if unsafe { split_bcast((t.size as u64).saturating_mul(count as u64), comm) } => t,
            // SAFETY: forwarding the arguments unchanged.
            _ => return Ok(unsafe { f(buf, count, dt, root, comm) }),
        };
        // SAFETY: the application's arguments; plan is the one of the staged call the ticket was issued in.
        unsafe { bcast_chunks(plan, buf, count, dt, root, comm, &t) }
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn bcast_chunks(plan: *mut Plan, buf: *mut c_void, count: c_int, dt: Datatype, root: c_int, comm: Comm, t: &TypeInfo) -> Result<c_int> {
    let abi = crate::real::abi();
    let byte = abi.h.byte;
    let total = t.size as usize * count as usize;
    let chunk = tune::chunk() as usize;
    let n = total.div_ceil(chunk);
    let len_of = |k: usize| chunk.min(total - k * chunk);
    let mut me: c_int = -1;
    // SAFETY: an out-pointer to a local.
    unsafe { PMPI_Comm_rank(comm, &mut me) };
    let is_root = me == root;
    let chunks_at = |p: *mut u8| -> c_int {
        let mut rc = 0;
        for k in 0..n {
            // SAFETY: the chunk lies inside the buffer of `total` bytes at p.
            let r = unsafe { nb(|q| PMPI_Ibcast(p.add(k * chunk).cast(), len_of(k) as c_int, byte, root, comm, q)) };
            if r != 0 && rc == 0 {
                rc = r;
            }
        }
        rc
    };
    if linear(t) && !ve::is_ve(buf) {
        return Ok(chunks_at(buf.cast()));
    }
    if linear(t) {
        count_staged_call();
        PIPELINED.fetch_add(1, Ordering::Relaxed);
        let b = buf as usize;
        let at = move |k: usize| b + k * chunk;
        let mut op = |k: usize, h: *mut u8| -> c_int {
            // SAFETY: h holds a chunk.
            unsafe { nb(|r| PMPI_Ibcast(h.cast(), len_of(k) as c_int, byte, root, comm, r)) }
        };
        // SAFETY: the chunks lie inside the application's VE buffer.
        return unsafe {
            if is_root {
                ring(n, chunk, &len_of, Some(&at), None, &mut op)
            } else {
                ring(n, chunk, &len_of, None, Some(&at), &mut op)
            }
        };
    }
    // Not contiguous: the bytes as one stream, laid out by MPI. A VE buffer is staged by its plan.
    let p = if ve::is_ve(buf) {
        if plan.is_null() {
            return Err(Error::new(Class::Intern, "a VE buffer reached the pipelined MPI_Bcast without its staging plan"));
        }
        // SAFETY: the plan of the staged call the ticket was issued in (bcast_form), alive until it returns.
        let plan = unsafe { &mut *plan };
        // SAFETY: the application's buffer and datatype; the plan stores a receiver's data after the call.
        unsafe {
            let p = plan.arg(buf, count as i64, dt, if is_root { Use::In } else { Use::Out })?;
            plan.load()?;
            p
        }
    } else {
        buf
    };
    let tmp = PoolBuf::get(total)?;
    if is_root {
        // SAFETY: tmp holds total bytes; p is the buffer in its datatype's layout.
        let rc = unsafe { self_copy(p, count as i64, dt, tmp.as_ptr().cast(), total as i64, byte) };
        if rc != 0 {
            return Ok(rc);
        }
        Ok(chunks_at(tmp.as_ptr()))
    } else {
        let rc = chunks_at(tmp.as_ptr());
        if rc != 0 {
            return Ok(rc);
        }
        // SAFETY: as above.
        Ok(unsafe { self_copy(tmp.as_ptr().cast(), total as i64, byte, p, count as i64, dt) })
    }
}
