//! Collective message forms (MPI-4.1 chapter 6): rooted ones with MPI_ROOT and MPI_PROC_NULL on
//! intercommunicators, v and w variants, MPI_IN_PLACE.

use super::{at, blocks, comm_info, in_place, segs_v, segs_w, Buf, CBuf, CommInfo, CountT};
use crate::abi::{Class, Comm, Datatype};
use crate::errors::{Error, Result};
use crate::real::abi;
use crate::stage::{Plan, Seg, Use};
use std::ffi::{c_int, c_void};

/// Which side of a rooted collective this process is on.
pub(super) enum Rooted {
    /// The root (intracommunicator) or MPI_ROOT (intercommunicator).
    Root,
    /// A non-root process, in the group that sends to or receives from the root.
    Leaf,
    /// MPI_PROC_NULL in the root's group of an intercommunicator: no buffer is significant.
    Idle,
}

pub(super) fn rooted(ci: &CommInfo, root: c_int) -> Rooted {
    let abi = abi();
    if ci.inter {
        if root == abi.root {
            Rooted::Root
        } else if root == abi.proc_null {
            Rooted::Idle
        } else {
            Rooted::Leaf
        }
    } else if root == ci.rank {
        Rooted::Root
    } else {
        Rooted::Leaf
    }
}

/// The number of blocks a collective moves to or from "all processes": the remote group on an
/// intercommunicator.
pub(super) fn group(ci: &CommInfo) -> c_int {
    if ci.inter {
        ci.remote
    } else {
        ci.size
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn bcast<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Datatype, root: c_int, comm: Comm) -> Result<(Buf,)> {
    // MPIVE_PIPELINE=1: a large blocking Bcast goes in chunks (src/pipeline/coll.rs).
    // SAFETY: forwarded contract.
    if let Some(b) = unsafe { crate::pipeline::bcast_form(plan, buf, count.get(), dt, comm) } {
        return Ok((b,));
    }
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        let u = match rooted(&ci, root) {
            Rooted::Root => Use::In,
            Rooted::Leaf => Use::Out,
            Rooted::Idle => return Ok((buf,)),
        };
        Ok((plan.arg(buf, count.get(), dt, u)?,))
    }
}

/// Stages the buffers of its MPI call.
///
/// The handles are typed: a communicator and a datatype swapped among the nine arguments is a
/// compile error, not a wrong call.
/// ```compile_fail,E0308
/// # use mpive::abi::{Comm, Datatype};
/// # unsafe fn f(plan: &mut mpive::stage::Plan, sbuf: *const std::ffi::c_void, rbuf: *mut std::ffi::c_void, dt: Datatype, comm: Comm) {
/// let _ = unsafe { mpive::msg::gather(plan, sbuf, 1, dt, rbuf, 1, comm, 0, dt) };
/// # }
/// ```
/// ```no_run
/// # use mpive::abi::{Comm, Datatype};
/// # unsafe fn f(plan: &mut mpive::stage::Plan, sbuf: *const std::ffi::c_void, rbuf: *mut std::ffi::c_void, dt: Datatype, comm: Comm) {
/// let _ = unsafe { mpive::msg::gather(plan, sbuf, 1, dt, rbuf, 1, dt, 0, comm) };
/// # }
/// ```
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gather<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    root: c_int,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        match rooted(&ci, root) {
            Rooted::Root => {
                let r = blocks(rcount.get(), rtype, group(&ci))?;
                if !ci.inter && in_place(sbuf) {
                    return Ok((sbuf, plan.stage(rbuf, &r, Use::InOut)?));
                }
                let s = if ci.inter { sbuf as Buf } else { plan.arg(sbuf, scount.get(), stype, Use::In)? };
                Ok((s, plan.stage(rbuf, &r, Use::Out)?))
            }
            Rooted::Leaf => Ok((plan.arg(sbuf, scount.get(), stype, Use::In)?, rbuf)),
            Rooted::Idle => Ok((sbuf, rbuf)),
        }
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gatherv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcounts: *const C,
    displs: *const D,
    rtype: Datatype,
    root: c_int,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        match rooted(&ci, root) {
            Rooted::Root => {
                let r = if crate::ve::is_ve(rbuf) { segs_v(rcounts, displs, group(&ci), rtype)? } else { Vec::new() };
                if !ci.inter && in_place(sbuf) {
                    return Ok((sbuf, plan.stage(rbuf, &r, Use::InOut)?));
                }
                let s = if ci.inter { sbuf as Buf } else { plan.arg(sbuf, scount.get(), stype, Use::In)? };
                Ok((s, plan.stage(rbuf, &r, Use::Out)?))
            }
            Rooted::Leaf => Ok((plan.arg(sbuf, scount.get(), stype, Use::In)?, rbuf)),
            Rooted::Idle => Ok((sbuf, rbuf)),
        }
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn scatter<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    root: c_int,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        match rooted(&ci, root) {
            Rooted::Root => {
                let s = plan.stage(sbuf, &blocks(scount.get(), stype, group(&ci))?, Use::In)?;
                let r = if ci.inter || in_place(rbuf) { rbuf } else { plan.arg(rbuf, rcount.get(), rtype, Use::Out)? };
                Ok((s, r))
            }
            Rooted::Leaf => Ok((sbuf, plan.arg(rbuf, rcount.get(), rtype, Use::Out)?)),
            Rooted::Idle => Ok((sbuf, rbuf)),
        }
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn scatterv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scounts: *const C,
    displs: *const D,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    root: c_int,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        match rooted(&ci, root) {
            Rooted::Root => {
                let segs = if crate::ve::is_ve(sbuf) { segs_v(scounts, displs, group(&ci), stype)? } else { Vec::new() };
                let s = plan.stage(sbuf, &segs, Use::In)?;
                let r = if ci.inter || in_place(rbuf) { rbuf } else { plan.arg(rbuf, rcount.get(), rtype, Use::Out)? };
                Ok((s, r))
            }
            Rooted::Leaf => Ok((sbuf, plan.arg(rbuf, rcount.get(), rtype, Use::Out)?)),
            Rooted::Idle => Ok((sbuf, rbuf)),
        }
    }
}

/// Allgather and Alltoall: `scount` (Allgather) or `scount * group` (Alltoall) elements out,
/// `rcount * group` in; MPI_IN_PLACE makes the receive buffer the input too.
#[allow(clippy::too_many_arguments)]
unsafe fn all_to<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    comm: Comm,
    send_blocks: bool,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        let r = blocks(rcount.get(), rtype, group(&ci))?;
        if in_place(sbuf) {
            return Ok((sbuf, plan.stage(rbuf, &r, Use::InOut)?));
        }
        let s = if send_blocks { blocks(scount.get(), stype, group(&ci))? } else { [Seg::new(scount.get(), stype)] };
        Ok((plan.stage(sbuf, &s, Use::In)?, plan.stage(rbuf, &r, Use::Out)?))
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn allgather<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe { all_to(plan, sbuf, scount, stype, rbuf, rcount, rtype, comm, false) }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn alltoall<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcount: C,
    rtype: Datatype,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe { all_to(plan, sbuf, scount, stype, rbuf, rcount, rtype, comm, true) }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn allgatherv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Datatype,
    rbuf: Buf,
    rcounts: *const C,
    displs: *const D,
    rtype: Datatype,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        let r = if crate::ve::is_ve(rbuf) { segs_v(rcounts, displs, group(&ci), rtype)? } else { Vec::new() };
        if in_place(sbuf) {
            return Ok((sbuf, plan.stage(rbuf, &r, Use::InOut)?));
        }
        Ok((plan.arg(sbuf, scount.get(), stype, Use::In)?, plan.stage(rbuf, &r, Use::Out)?))
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn alltoallv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scounts: *const C,
    sdispls: *const D,
    stype: Datatype,
    rbuf: Buf,
    rcounts: *const C,
    rdispls: *const D,
    rtype: Datatype,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let n = group(&comm_info(comm)?);
        let r = if crate::ve::is_ve(rbuf) { segs_v(rcounts, rdispls, n, rtype)? } else { Vec::new() };
        if in_place(sbuf) {
            return Ok((sbuf, plan.stage(rbuf, &r, Use::InOut)?));
        }
        let s = if crate::ve::is_ve(sbuf) { segs_v(scounts, sdispls, n, stype)? } else { Vec::new() };
        Ok((plan.stage(sbuf, &s, Use::In)?, plan.stage(rbuf, &r, Use::Out)?))
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn alltoallw<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scounts: *const C,
    sdispls: *const D,
    stypes: *const c_void,
    rbuf: Buf,
    rcounts: *const C,
    rdispls: *const D,
    rtypes: *const c_void,
    comm: Comm,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let n = group(&comm_info(comm)?);
        let r = if crate::ve::is_ve(rbuf) { segs_w(rcounts, rdispls, rtypes, n)? } else { Vec::new() };
        if in_place(sbuf) {
            return Ok((sbuf, plan.stage(rbuf, &r, Use::InOut)?));
        }
        let s = if crate::ve::is_ve(sbuf) { segs_w(scounts, sdispls, stypes, n)? } else { Vec::new() };
        Ok((plan.stage(sbuf, &s, Use::In)?, plan.stage(rbuf, &r, Use::Out)?))
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn reduce<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, count: C, dt: Datatype, root: c_int, comm: Comm) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        let n = count.get();
        match rooted(&ci, root) {
            Rooted::Root if !ci.inter && in_place(sbuf) => Ok((sbuf, plan.arg(rbuf, n, dt, Use::InOut)?)),
            Rooted::Root if ci.inter => Ok((sbuf, plan.arg(rbuf, n, dt, Use::Out)?)),
            Rooted::Root => Ok((plan.arg(sbuf, n, dt, Use::In)?, plan.arg(rbuf, n, dt, Use::Out)?)),
            Rooted::Leaf => Ok((plan.arg(sbuf, n, dt, Use::In)?, rbuf)),
            Rooted::Idle => Ok((sbuf, rbuf)),
        }
    }
}

/// Allreduce and Scan: `count` elements in, `count` out, or in place.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn allreduce<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, count: C, dt: Datatype) -> Result<(CBuf, Buf)> {
    let n = count.get();
    // MPIVE_PIPELINE=1: a large blocking Allreduce goes in chunks (src/pipeline/coll.rs).
    // SAFETY: forwarded contract.
    if let Some(r) = unsafe { crate::pipeline::allreduce_form(plan, sbuf, rbuf, n, dt) } {
        return Ok(r);
    }
    // SAFETY: forwarded contract.
    unsafe {
        if in_place(sbuf) {
            return Ok((sbuf, plan.arg(rbuf, n, dt, Use::InOut)?));
        }
        Ok((plan.arg(sbuf, n, dt, Use::In)?, plan.arg(rbuf, n, dt, Use::Out)?))
    }
}

/// Exscan: as Allreduce, but rank 0's receive buffer is undefined afterwards, so it is left as it was.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn exscan<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, count: C, dt: Datatype, comm: Comm) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        if ci.rank != 0 {
            return allreduce(plan, sbuf, rbuf, count, dt);
        }
        let n = count.get();
        let seg = [Seg::new(n, dt)];
        let s = if in_place(sbuf) { sbuf } else { plan.arg(sbuf, n, dt, Use::In)? };
        // Rank 0 receives nothing: stage the buffer (MPI may use it as scratch) but copy nothing back.
        let load: &[Seg] = if in_place(sbuf) { &seg } else { &[] };
        Ok((s, plan.stage_with(rbuf, &seg, load, &[], false)?))
    }
}

/// Reduce_scatter: `sum(rcounts)` elements in, `rcounts[rank]` out.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn reduce_scatter<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, rcounts: *const C, dt: Datatype, comm: Comm) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        if rcounts.is_null() {
            return Err(Error::new(Class::Arg, "NULL recvcounts array"));
        }
        let total: i64 = (0..ci.size.max(0) as usize).map(|i| at(rcounts, i)).sum();
        let mine = at(rcounts, ci.rank as usize);
        reduce_scatter_parts(plan, sbuf, rbuf, total, mine, dt)
    }
}

/// Reduce_scatter_block: `rcount * size` elements in, `rcount` out.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
pub unsafe fn reduce_scatter_block<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, rcount: C, dt: Datatype, comm: Comm) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        reduce_scatter_parts(plan, sbuf, rbuf, rcount.get() * ci.size as i64, rcount.get(), dt)
    }
}

unsafe fn reduce_scatter_parts(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, total: i64, mine: i64, dt: Datatype) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        if in_place(sbuf) {
            // The input is the whole receive buffer; the result lands in its first `mine` elements.
            let all = [Seg::new(total, dt)];
            let out = [Seg::new(mine, dt)];
            return Ok((sbuf, plan.stage_with(rbuf, &all, &all, &out, false)?));
        }
        Ok((plan.arg(sbuf, total, dt, Use::In)?, plan.arg(rbuf, mine, dt, Use::Out)?))
    }
}

/// The arrays each collective form reads, with their lengths ([`crate::msg::large`]): the same
/// arguments as the form, without the plan.
pub mod shape {
    use super::{group, rooted, Rooted};
    use crate::abi::{Comm, Datatype};
    use crate::errors::Result;
    use crate::msg::large::Shape;
    use crate::msg::{comm_info, in_place, Buf, CBuf, CountT};
    use std::ffi::{c_int, c_void};

    /// The counts and displacements of a rooted v variant: read at the root only, one per process of
    /// the (remote) group.
    unsafe fn v_at_root<C: CountT, D: CountT>(counts: *const C, displs: *const D, root: c_int, comm: Comm) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let ci = unsafe { comm_info(comm) }?;
        let mut s = Shape::none();
        if let Rooted::Root = rooted(&ci, root) {
            s.add(counts, group(&ci));
            s.add(displs, group(&ci));
        }
        Ok(s)
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gatherv<C: CountT, D: CountT>(
        _sbuf: CBuf,
        _scount: C,
        _stype: Datatype,
        _rbuf: Buf,
        rcounts: *const C,
        displs: *const D,
        _rtype: Datatype,
        root: c_int,
        comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        unsafe { v_at_root(rcounts, displs, root, comm) }
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn scatterv<C: CountT, D: CountT>(
        _sbuf: CBuf,
        scounts: *const C,
        displs: *const D,
        _stype: Datatype,
        _rbuf: Buf,
        _rcount: C,
        _rtype: Datatype,
        root: c_int,
        comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        unsafe { v_at_root(scounts, displs, root, comm) }
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn allgatherv<C: CountT, D: CountT>(
        _sbuf: CBuf,
        _scount: C,
        _stype: Datatype,
        _rbuf: Buf,
        rcounts: *const C,
        displs: *const D,
        _rtype: Datatype,
        comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let n = group(&unsafe { comm_info(comm) }?);
        let mut s = Shape::none();
        s.add(rcounts, n);
        s.add(displs, n);
        Ok(s)
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn alltoallv<C: CountT, D: CountT>(
        sbuf: CBuf,
        scounts: *const C,
        sdispls: *const D,
        _stype: Datatype,
        _rbuf: Buf,
        rcounts: *const C,
        rdispls: *const D,
        _rtype: Datatype,
        comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let n = group(&unsafe { comm_info(comm) }?);
        let mut s = Shape::none();
        s.add(rcounts, n);
        s.add(rdispls, n);
        if !in_place(sbuf) {
            s.add(scounts, n);
            s.add(sdispls, n);
        }
        Ok(s)
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn alltoallw<C: CountT, D: CountT>(
        sbuf: CBuf,
        scounts: *const C,
        sdispls: *const D,
        stypes: *const c_void,
        _rbuf: Buf,
        rcounts: *const C,
        rdispls: *const D,
        rtypes: *const c_void,
        comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let n = group(&unsafe { comm_info(comm) }?);
        let mut s = Shape::none();
        s.add(rcounts, n);
        s.add(rdispls, n);
        s.add(rtypes, n);
        if !in_place(sbuf) {
            s.add(scounts, n);
            s.add(sdispls, n);
            s.add(stypes, n);
        }
        Ok(s)
    }

    /// Reduce_scatter: one count per process of the local group.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    pub unsafe fn reduce_scatter<C: CountT>(_sbuf: CBuf, _rbuf: Buf, rcounts: *const C, _dt: Datatype, comm: Comm) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let ci = unsafe { comm_info(comm) }?;
        let mut s = Shape::none();
        s.add(rcounts, ci.size);
        Ok(s)
    }
}
