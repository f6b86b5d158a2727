//! The send side: a large VE send as a header and chunks.
//!
//! The message form ([`send_form`]) decides whether a VE send is pipelined and returns a ticket in
//! place of its buffer; the interposer of the real send function, given the ticket, runs [`send_ve`]: the header goes with the application's envelope and
//! mode (its request is the application's), the data follows in chunks on the private communicator,
//! each copied from VE memory while the one before is on its way, and each left to the request table
//! as a freed request that keeps its buffer until it is received.

use super::comms::{handle_of, hp, priv_world, world_rank};
use crate::real::pmpi::direct::PMPI_Isend;
use crate::real::pmpi::PMPI_Comm_rank;
use super::wait::spin;
use super::wire::{linear, Header, HEADER_LEN, MAGIC, VERSION};
use super::{active, ticket, State, IN_FLIGHT};
use crate::abi::{Class, Comm, Datatype, Request};
use crate::datatype;
use crate::dma::{self, Slot};
use crate::errors::{Error, Obj, Result};
use crate::pool::PoolBuf;
use crate::requests::{self, Kind};
use crate::stage::Plan;
use crate::stats::{count_staged_call, PIPELINED};
use crate::tune;
use crate::ve;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU32, Ordering};

/// The tag of the next transfer's chunks on the private communicator.
static XTAG: AtomicU32 = AtomicU32::new(0);

/// Message-form hook (`crate::msg::send`): whether this VE send is pipelined. If so, what is returned
/// is the buffer to give the real send function: a ticket ([`ticket`]) that makes its interposer run
/// the protocol with this plan.
///
/// # Safety
/// The arguments are the application's; `plan` stays where it is until the real call returned.
#[inline]
pub unsafe fn send_form(plan: &mut Plan, buf: *const c_void, count: i64, dt: Datatype) -> Option<*const c_void> {
    if !tune::pipeline() {
        return None;
    }
    // SAFETY: forwarded contract.
    unsafe { send_form_slow(plan, buf, count, dt) }
}

#[cold]
unsafe fn send_form_slow(plan: &mut Plan, buf: *const c_void, count: i64, dt: Datatype) -> Option<*const c_void> {
    // Only the calls whose real function this module interposes (not persistent sends, not the
    // large-count `_c` forms: their real function would get the VE address).
    const SENDS: [&str; 6] = ["MPI_Send", "MPI_Ssend", "MPI_Rsend", "MPI_Isend", "MPI_Issend", "MPI_Irsend"];
    if !tune::pipeline_send() || !active() || !ve::is_ve(buf) || count <= 0 || !SENDS.contains(&plan.func) {
        return None;
    }
    // SAFETY: dt is the application's datatype.
    let t = unsafe { datatype::info(dt) }.ok()?;
    if !linear(&t) || (t.size as u64).saturating_mul(count as u64) < tune::threshold() {
        return None;
    }
    Some(ticket::issue(plan, buf))
}

/// How the header goes.
#[derive(Clone, Copy)]
pub(super) enum HeaderSend {
    Blocking(unsafe extern "C" fn(*const c_void, c_int, Datatype, c_int, c_int, Comm) -> c_int),
    Nonblocking(unsafe extern "C" fn(*const c_void, c_int, Datatype, c_int, c_int, Comm, *mut c_void) -> c_int, *mut c_void),
}

/// A pipelined VE send: the interposer got the ticket [`send_form`] returned in place of the buffer.
///
/// # Safety
/// The arguments are the application's, with `ticket` in its buffer's place; the call is the one of
/// the ticket's message form.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn send_ve(how: HeaderSend, ticket: *const c_void, count: c_int, dt: Datatype, dest: c_int, tag: c_int, comm: Comm) -> Result<c_int> {
    let Some((plan, buf)) = ticket::claim(ticket) else {
        return Err(Error::new(Class::Intern, "a VE buffer reached the pipelined send without its staging plan"));
    };
    // SAFETY: the plan of the call the ticket was issued in, which lives until that call returns
    // (send_form's contract).
    let plan = unsafe { &mut *plan };
    // SAFETY: forwarded contract.
    unsafe { send_ve_inner(plan, how, buf, count, dt, dest, tag, comm) }
}

#[allow(clippy::too_many_arguments)]
unsafe fn send_ve_inner(plan: &mut Plan, how: HeaderSend, buf: *const c_void, count: c_int, dt: Datatype, dest: c_int, tag: c_int, comm: Comm) -> Result<c_int> {
    let abi = crate::real::abi();
    let call = |b: *const c_void, n: c_int, t: Datatype| -> c_int {
        // SAFETY: the application's arguments, with b standing for its buffer.
        unsafe {
            match how {
                HeaderSend::Blocking(f) => f(b, n, t, dest, tag, comm),
                HeaderSend::Nonblocking(f, req) => f(b, n, t, dest, tag, comm, req),
            }
        }
    };
    if dest == abi.proc_null {
        return Ok(call(buf, count, dt)); // MPI reads nothing
    }
    // SAFETY: forwarded contract.
    let Some(wr) = (unsafe { world_rank(comm, dest) }) else {
        // A peer outside MPI_COMM_WORLD: the whole message, staged as usual.
        // SAFETY: forwarded contract.
        let b = unsafe { plan.arg(buf, count as i64, dt, crate::stage::Use::In) }?;
        // SAFETY: the VE buffer is the application's, allocated during its call.
        unsafe { plan.load() }?;
        return Ok(call(b, count, dt));
    };
    // SAFETY: dt is the application's datatype.
    let t = unsafe { datatype::info(dt) }?;
    let total = t.size as u64 * count as u64;
    let chunk = tune::chunk();
    let n = total.div_ceil(chunk);
    let mut h = Header {
        magic: MAGIC,
        version: VERSION,
        xtag: (XTAG.fetch_add(1, Ordering::Relaxed) % 32768) as c_int,
        src: 0,
        chunk,
        total,
        ..Default::default()
    };
    // SAFETY: out-pointer to a local.
    unsafe { PMPI_Comm_rank(priv_world(), &mut h.src) };
    h.check = h.check_word();
    let hdr = PoolBuf::get(HEADER_LEN)?;
    // SAFETY: hdr holds HEADER_LEN bytes.
    unsafe { std::ptr::copy_nonoverlapping(&h as *const Header as *const u8, hdr.as_ptr(), HEADER_LEN) };
    requests::progress_orphans(false); // chunks of earlier transfers come back to the pool

    // Copies of the first chunks start before the header goes (it may wait: MPI_Ssend).
    let ahead = 4usize;
    let mut ring: [(Option<PoolBuf>, Slot); 4] = Default::default();
    let window = tune::staging_limit() / 2;
    let start_copy = |k: u64, e: &mut (Option<PoolBuf>, Slot)| -> Result<()> {
        let len = chunk.min(total - k * chunk);
        // at most half the staging limit in flight per process: wait for earlier chunks
        spin(|| IN_FLIGHT.load(Ordering::Relaxed) + len <= window.max(chunk));
        let b = PoolBuf::get(len as usize)?;
        IN_FLIGHT.fetch_add(len, Ordering::Relaxed);
        let src = buf as usize + (k * chunk) as usize;
        // SAFETY: b holds len bytes; the slot lives in `ring` until the loop below has seen it done.
        unsafe {
            if !dma::submit(true, src, b.as_ptr(), len as usize, &e.1) {
                dma::copy_now(true, src, b.as_ptr(), len as usize, &e.1);
            }
        }
        e.0 = Some(b);
        Ok(())
    };
    let mut started = 0u64;
    let mut err: Option<Error> = None;
    while started < n && (started as usize) < ahead {
        if let Err(e) = start_copy(started, &mut ring[started as usize % ahead]) {
            err = Some(e);
            break;
        }
        started += 1;
    }
    let rc = if err.is_none() { call(hdr.as_ptr().cast(), HEADER_LEN as c_int, abi.h.byte) } else { 0 };
    let mut k = 0u64;
    while k < started {
        let e = &mut ring[k as usize % ahead];
        spin(|| e.1.done());
        let b = e.0.take();
        let len = chunk.min(total - k * chunk);
        if err.is_none() && rc == 0 {
            if !e.1.ok() {
                err = Some(Error::new(
                    Class::Buffer,
                    format!(
                        "copy of {len} bytes from VE address {:#x} failed: not VE memory of this process. Pass buffers from \
                         veo_alloc_hmem that hold (count, datatype) until the call completes",
                        buf as usize + (k * chunk) as usize
                    ),
                ));
            } else if let Some(b) = b {
                // SAFETY: b holds the chunk; it is kept with the request until the chunk is received.
                if let Err(x) = unsafe { send_chunk(b, len, wr, h.xtag) } {
                    err = Some(x);
                }
            }
        } else if b.is_some() {
            IN_FLIGHT.fetch_sub(len, Ordering::Relaxed);
        }
        if err.is_none() && rc == 0 && started < n {
            if let Err(x) = start_copy(started, &mut ring[started as usize % ahead]) {
                err = Some(x);
            } else {
                started += 1;
            }
        }
        k += 1;
    }
    if let Some(e) = err {
        if rc == 0 {
            // The header went, the data cannot follow: the receiver would wait for ever.
            log::error!("a pipelined send failed after its header was sent: {}", e.msg);
        }
        return Err(e);
    }
    if rc == 0 {
        count_staged_call();
        PIPELINED.fetch_add(1, Ordering::Relaxed);
        if let HeaderSend::Nonblocking(..) = how {
            // the header lives as long as the application's request
            plan.pipe = Some(Box::new(State::Hold(hdr, 0)));
        }
    }
    Ok(rc)
}

/// Sends one chunk and leaves it to the request table as a freed request, which keeps its buffer
/// until it is received.
unsafe fn send_chunk(b: PoolBuf, len: u64, wr: c_int, xtag: c_int) -> Result<()> {
    let abi = crate::real::abi();
    let mut req = 0u64;
    // SAFETY: b holds len bytes and is kept until the request completes.
    let rc = unsafe { PMPI_Isend(b.as_ptr().cast(), len as c_int, abi.h.byte, wr, xtag, priv_world(), hp(&mut req)) };
    if rc != 0 {
        IN_FLIGHT.fetch_sub(len, Ordering::Relaxed);
        return Err(Error::new(Class::Intern, format!("cannot send a chunk of a pipelined message (error {rc})")));
    }
    let mut plan = Plan::new("pipelined chunk");
    plan.pipe = Some(Box::new(State::Hold(b, len)));
    // SAFETY: req holds the request the real MPI_Isend returned.
    unsafe { requests::track(&req as *const u64 as *const c_void, plan, Kind::Once, Obj::World) };
    if let Some(c) = requests::claim(Request::from_raw(handle_of(&req))) {
        c.free();
    }
    Ok(())
}
