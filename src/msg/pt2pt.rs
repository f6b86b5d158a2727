//! Point-to-point message forms (MPI-4.1 chapter 3).

use super::{Buf, CBuf, CountT};
use crate::abi::Datatype;
use crate::errors::Result;
use crate::pipeline;
use crate::stage::{Plan, Use};

// Receives register with the pipelined protocol (`pipeline::watch`, MPIVE_PIPELINE=1 only), and a
// large VE send may be handed to it unstaged (`pipeline::send_form`): see the `pipeline` module.

/// A send buffer.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn send<C: CountT>(plan: &mut Plan, buf: CBuf, count: C, dt: Datatype) -> Result<(CBuf,)> {
    // SAFETY: forwarded contract.
    if let Some(b) = unsafe { pipeline::send_form(plan, buf, count.get(), dt) } {
        return Ok((b,));
    }
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(buf, count.get(), dt, Use::In) }? as CBuf,))
}

/// A receive buffer of a blocking receive, and the status that says how much arrived.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn recv<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Datatype, status: Buf) -> Result<(Buf, Buf)> {
    // SAFETY: forwarded contract.
    let b = unsafe { plan.arg(buf, count.get(), dt, Use::Recv) }?;
    let st = plan.recv_status(status);
    // SAFETY: forwarded contract; a blocking call's plan stays where it is.
    Ok((b, unsafe { pipeline::watch(plan, buf, b, count.get(), dt, Some(st)) }))
}

/// A receive buffer completed later (nonblocking and persistent receives).
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn recv_later<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Datatype) -> Result<(Buf,)> {
    // SAFETY: forwarded contract.
    let b = unsafe { plan.arg(buf, count.get(), dt, Use::Recv) }?;
    // SAFETY: forwarded contract.
    unsafe { pipeline::watch(plan, buf, b, count.get(), dt, None) };
    Ok((b,))
}

/// MPI_Sendrecv.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sendrecv<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    status: Buf,
) -> Result<(CBuf, Buf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let s = plan.arg(sbuf, scount.get(), stype, Use::In)?;
        let r = plan.arg(rbuf, rcount.get(), rtype, Use::Recv)?;
        let st = plan.recv_status(status);
        Ok((s, r, pipeline::watch(plan, rbuf, r, rcount.get(), rtype, Some(st))))
    }
}

/// MPI_Sendrecv_replace: the buffer is sent, then overwritten by what arrives.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn sendrecv_replace<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Datatype, status: Buf) -> Result<(Buf, Buf)> {
    // SAFETY: forwarded contract.
    let b = unsafe { plan.arg(buf, count.get(), dt, Use::InOut) }?;
    // SAFETY: forwarded contract.
    Ok((b, unsafe { pipeline::watch(plan, buf, b, count.get(), dt, Some(status)) }))
}

/// Nonblocking MPI_Isendrecv_replace: as above, completed later.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn sendrecv_replace_later<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Datatype) -> Result<(Buf,)> {
    // SAFETY: forwarded contract.
    let b = unsafe { plan.arg(buf, count.get(), dt, Use::InOut) }?;
    // SAFETY: forwarded contract.
    unsafe { pipeline::watch(plan, buf, b, count.get(), dt, None) };
    Ok((b,))
}

/// Nonblocking MPI_Isendrecv. The receive buffer is loaded before and stored whole after, so bytes
/// beyond a short message come back unchanged without reading the status: MPICH 4.0's Isendrecv
/// completes with a status that says nothing arrived (count 0).
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sendrecv_later<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let s = plan.arg(sbuf, scount.get(), stype, Use::In)?;
        let r = plan.arg(rbuf, rcount.get(), rtype, Use::InOut)?;
        pipeline::watch(plan, rbuf, r, rcount.get(), rtype, None);
        Ok((s, r))
    }
}
