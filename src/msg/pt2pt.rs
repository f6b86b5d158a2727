//! Point-to-point message forms (MPI-4.1 chapter 3).

use super::{Buf, CBuf, CountT};
use crate::abi::Handle;
use crate::errors::Result;
use crate::stage::{Plan, Use};

/// A send buffer.
pub unsafe fn send<C: CountT>(plan: &mut Plan, buf: CBuf, count: C, dt: Handle) -> Result<(CBuf,)> {
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(buf, count.get(), dt, Use::In) }? as CBuf,))
}

/// A receive buffer of a blocking receive, and the status that says how much arrived.
pub unsafe fn recv<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Handle, status: Buf) -> Result<(Buf, Buf)> {
    // SAFETY: forwarded contract.
    let b = unsafe { plan.arg(buf, count.get(), dt, Use::Recv) }?;
    Ok((b, plan.recv_status(status)))
}

/// A receive buffer completed later (nonblocking and persistent receives).
pub unsafe fn recv_later<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Handle) -> Result<(Buf,)> {
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(buf, count.get(), dt, Use::Recv) }?,))
}

/// MPI_Sendrecv.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sendrecv<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    status: Buf,
) -> Result<(CBuf, Buf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let s = plan.arg(sbuf, scount.get(), stype, Use::In)?;
        let r = plan.arg(rbuf, rcount.get(), rtype, Use::Recv)?;
        Ok((s, r, plan.recv_status(status)))
    }
}

/// MPI_Sendrecv_replace: the buffer is sent, then overwritten by what arrives.
pub unsafe fn sendrecv_replace<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Handle, status: Buf) -> Result<(Buf, Buf)> {
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(buf, count.get(), dt, Use::InOut) }?, status))
}

/// Nonblocking MPI_Isendrecv_replace: as above, completed later.
pub unsafe fn sendrecv_replace_later<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Handle) -> Result<(Buf,)> {
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(buf, count.get(), dt, Use::InOut) }?,))
}

/// Nonblocking MPI_Isendrecv. The receive buffer is loaded before and stored whole after, so bytes
/// beyond a short message come back unchanged without reading the status: MPICH 4.0's Isendrecv
/// completes with a status that says nothing arrived (count 0).
#[allow(clippy::too_many_arguments)]
pub unsafe fn sendrecv_later<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe { Ok((plan.arg(sbuf, scount.get(), stype, Use::In)?, plan.arg(rbuf, rcount.get(), rtype, Use::InOut)?)) }
}
