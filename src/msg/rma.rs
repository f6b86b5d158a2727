//! One-sided communication message forms (MPI-4.1 chapter 12): origin, result and compare buffers.
//!
//! Origin and compare buffers are read by MPI until the operation completes, result buffers written
//! until then; the forms only say which is which. When the staging is released and the results
//! stored is decided by the caller: the request's completion for the R-forms ([`crate::requests`]),
//! the synchronization that completes the operation otherwise ([`crate::rma`]).

use super::{Buf, CBuf, CountT};
use crate::abi::{Datatype, Op};
use crate::errors::Result;
use crate::real::abi;
use crate::stage::{Plan, Use};

/// The origin buffer of a put or an accumulate: loaded when the operation is issued.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn rma_origin<C: CountT>(plan: &mut Plan, origin_addr: CBuf, count: C, dt: Datatype) -> Result<(CBuf,)> {
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(origin_addr, count.get(), dt, Use::In) }? as CBuf,))
}

/// The origin buffer of a get, which MPI writes: stored when the operation completes.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn rma_result<C: CountT>(plan: &mut Plan, origin_addr: Buf, count: C, dt: Datatype) -> Result<(Buf,)> {
    // SAFETY: forwarded contract.
    Ok((unsafe { plan.arg(origin_addr, count.get(), dt, Use::Out) }?,))
}

/// Whether an accumulate's origin buffer is significant (MPI_NO_OP ignores it).
fn reads_origin(op: Op) -> bool {
    let abi = abi();
    !abi.same(op, abi.h.op_no_op)
}

/// MPI_Get_accumulate and MPI_Rget_accumulate: origin loaded (unless the op is MPI_NO_OP), result
/// stored at completion.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn get_accumulate<C: CountT>(
    plan: &mut Plan,
    origin_addr: CBuf,
    origin_count: C,
    origin_dt: Datatype,
    result_addr: Buf,
    result_count: C,
    result_dt: Datatype,
    op: Op,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let o = if reads_origin(op) { plan.arg(origin_addr, origin_count.get(), origin_dt, Use::In)? as CBuf } else { origin_addr };
        Ok((o, plan.arg(result_addr, result_count.get(), result_dt, Use::Out)?))
    }
}

/// MPI_Fetch_and_op: one element of `dt` in, one out.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn fetch_and_op(plan: &mut Plan, origin_addr: CBuf, result_addr: Buf, dt: Datatype, op: Op) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let o = if reads_origin(op) { plan.arg(origin_addr, 1, dt, Use::In)? as CBuf } else { origin_addr };
        Ok((o, plan.arg(result_addr, 1, dt, Use::Out)?))
    }
}

/// MPI_Compare_and_swap: origin and compare elements in, the result element out.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn compare_and_swap(plan: &mut Plan, origin_addr: CBuf, compare_addr: CBuf, result_addr: Buf, dt: Datatype) -> Result<(CBuf, CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        Ok((
            plan.arg(origin_addr, 1, dt, Use::In)? as CBuf,
            plan.arg(compare_addr, 1, dt, Use::In)? as CBuf,
            plan.arg(result_addr, 1, dt, Use::Out)?,
        ))
    }
}
