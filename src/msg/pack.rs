//! Packing message forms (MPI-4.1 chapter 5, §5.2).
//!
//! The packed buffer is a run of bytes addressed by `position`, whose meaning does not change: the real
//! call gets a host address for which `host + *position` is the staged copy of `buf + *position`.
//! MPI_Pack writes `outbuf[*position .. new position)` and the shim copies back exactly those bytes
//! (never past `outsize`); MPI_Unpack reads `inbuf` from `*position` on, at most the packed size of its
//! `(outcount, datatype)` and never past `insize`.

use super::{Buf, CBuf, CountT};
use crate::abi::{Class, Comm, Datatype};
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};
use crate::stage::{Plan, Seg, Use};
use std::ffi::c_int;

/// The bytes of a packed buffer that a call may touch, from `*position` on: `(span, room)`, where
/// `span` is MPI_Pack_size of `(count, dt)` (what the real call may touch: MPICH 4.0 does not check
/// `outsize`/`insize` against it, so the staging buffer must hold it all) and `room` the part inside
/// the application's buffer (up to `size`), the only part copied from or to VE memory.
unsafe fn packed_part<P: CountT>(size: i64, position: *const P, count: i64, dt: Datatype, comm: Comm) -> Result<([Seg; 1], [Seg; 1])> {
    if position.is_null() {
        return Err(Error::new(Class::Arg, "NULL position"));
    }
    // SAFETY: the application's position argument (an int, or an MPI_Count in the `_c` functions).
    let pos = unsafe { super::at(position, 0) };
    if pos < 0 || pos > size {
        return Err(Error::new(Class::Arg, format!("position {pos} is outside the packed buffer of {size} bytes")));
    }
    let mut bound: c_int = 0;
    let c = c_int::try_from(count).map_err(|_| Error::new(Class::Count, format!("count {count} too large")))?;
    // SAFETY: plain query with the application's datatype and communicator.
    let rc = unsafe { pmpi::PMPI_Pack_size(c, dt, comm, &mut bound) };
    if rc != 0 {
        return Err(Error::new(Class::Type, format!("cannot compute the packed size of {count} elements of {dt:#x} (MPI_Pack_size returned {rc})")));
    }
    let byte = abi().h.byte;
    let bound = bound.max(0) as i64;
    Ok(([Seg { disp: pos, count: bound, dt: byte }], [Seg { disp: pos, count: bound.min(size - pos), dt: byte }]))
}

/// MPI_Pack.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn pack<C: CountT, P: CountT>(
    plan: &mut Plan,
    inbuf: CBuf,
    incount: C,
    dt: Datatype,
    outbuf: Buf,
    outsize: C,
    position: *mut P,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract; the blocking runner stores while `position` is still valid.
    unsafe {
        let i = plan.arg(inbuf, incount.get(), dt, Use::In)?;
        if !crate::ve::is_ve(outbuf) {
            return Ok((i, outbuf));
        }
        let (span, room) = packed_part(outsize.get(), position, incount.get(), dt, comm)?;
        let o = plan.stage_with(outbuf, &span, &[], &room, false)?;
        plan.store_upto(outbuf, position);
        Ok((i, o))
    }
}

/// MPI_Unpack.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn unpack<C: CountT, P: CountT>(
    plan: &mut Plan,
    inbuf: CBuf,
    insize: C,
    position: *mut P,
    outbuf: Buf,
    outcount: C,
    dt: Datatype,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let i = if crate::ve::is_ve(inbuf) {
            let (span, room) = packed_part(insize.get(), position, outcount.get(), dt, comm)?;
            plan.stage_with(inbuf, &span, &room, &[], false)?
        } else {
            inbuf as Buf
        };
        Ok((i, plan.arg(outbuf, outcount.get(), dt, Use::Out)?))
    }
}
