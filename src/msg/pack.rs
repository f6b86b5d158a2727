//! Packing message forms (MPI-4.1 chapter 5, §5.2).
//!
//! The packed buffer is a run of bytes addressed by `position`, whose meaning does not change: the real
//! call gets a host address for which `host + *position` is the staged copy of `buf + *position`.
//! MPI_Pack writes `outbuf[*position .. new position)` and the shim copies back exactly those bytes;
//! MPI_Unpack reads `inbuf` from `*position` on, at most the packed size of its `(outcount, datatype)`.

use super::{Buf, CBuf, CountT};
use crate::abi::{Class, Handle};
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};
use crate::stage::{Plan, Seg, Use};
use std::ffi::c_int;

/// The bytes of a packed buffer that a call may touch: from `*position` to the end of the buffer
/// (`size`), but no more than MPI_Pack_size of `(count, dt)`.
unsafe fn packed_part(size: c_int, position: *const c_int, count: i64, dt: Handle, comm: Handle) -> Result<Seg> {
    if position.is_null() {
        return Err(Error::new(Class::Arg, "NULL position"));
    }
    // SAFETY: the application's position argument.
    let pos = unsafe { position.read_unaligned() };
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
    Ok(Seg { disp: pos as i64, count: (size - pos).min(bound.max(0)) as i64, dt: abi().h.byte })
}

/// MPI_Pack.
#[allow(clippy::too_many_arguments)]
pub unsafe fn pack<C: CountT>(
    plan: &mut Plan,
    inbuf: CBuf,
    incount: C,
    dt: Handle,
    outbuf: Buf,
    outsize: c_int,
    position: *mut c_int,
    comm: Handle,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract; the blocking runner stores while `position` is still valid.
    unsafe {
        let i = plan.arg(inbuf, incount.get(), dt, Use::In)?;
        if !crate::ve::is_ve(outbuf) {
            return Ok((i, outbuf));
        }
        let part = [packed_part(outsize, position, incount.get(), dt, comm)?];
        let o = plan.stage_with(outbuf, &part, &[], &part, false)?;
        plan.store_upto(outbuf, position);
        Ok((i, o))
    }
}

/// MPI_Unpack.
#[allow(clippy::too_many_arguments)]
pub unsafe fn unpack<C: CountT>(
    plan: &mut Plan,
    inbuf: CBuf,
    insize: c_int,
    position: *mut c_int,
    outbuf: Buf,
    outcount: C,
    dt: Handle,
    comm: Handle,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let i = if crate::ve::is_ve(inbuf) {
            let part = [packed_part(insize, position, outcount.get(), dt, comm)?];
            plan.stage(inbuf, &part, Use::In)?
        } else {
            inbuf as Buf
        };
        Ok((i, plan.arg(outbuf, outcount.get(), dt, Use::Out)?))
    }
}
