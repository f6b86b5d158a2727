//! Message arguments: how each form of MPI call uses its buffers.
//!
//! Every buffer argument form of the standard (point-to-point, rooted collectives, v and w variants,
//! MPI_IN_PLACE, intercommunicators with MPI_ROOT and MPI_PROC_NULL) is parsed here, once, into
//! [`Plan`] items; the intercepted functions in [`crate::api`] only name their form. Each form returns
//! the arguments to pass to the real MPI, with host staging buffers in place of VE ones.
//!
//! Counts and displacements are generic ([`CountT`]) so the same form serves the `int` functions and
//! the MPI-4 large-count (`_c`) ones.

use crate::abi::{Class, Handle};
use crate::datatype;
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};
use crate::stage::{Plan, Seg, Use};
use std::ffi::{c_int, c_void};

pub type CBuf = *const c_void;
pub type Buf = *mut c_void;

/// A count or displacement: `int` in the classic functions, `MPI_Count`/`MPI_Aint` in the `_c` ones.
pub trait CountT: Copy {
    fn get(self) -> i64;
}
impl CountT for c_int {
    #[inline]
    fn get(self) -> i64 {
        self as i64
    }
}
impl CountT for i64 {
    #[inline]
    fn get(self) -> i64 {
        self
    }
}

/// Element `i` of an array of counts or displacements.
///
/// # Safety
/// `p` has at least `i + 1` elements.
unsafe fn at<C: CountT>(p: *const C, i: usize) -> i64 {
    // SAFETY: by the caller's contract.
    unsafe { p.add(i).read_unaligned().get() }
}

/// What a collective needs to know about its communicator.
#[derive(Clone, Copy, Debug)]
pub struct CommInfo {
    pub inter: bool,
    pub rank: c_int,
    pub size: c_int,
    /// The remote group's size (intercommunicators), else `size`.
    pub remote: c_int,
}

/// Queries `comm`.
///
/// # Safety
/// `comm` is a communicator handle the application passed.
pub unsafe fn comm_info(comm: Handle) -> Result<CommInfo> {
    let (mut inter, mut rank, mut size) = (0, 0, 0);
    let mut remote;
    // SAFETY: out-pointers to locals.
    unsafe {
        let rc = pmpi::PMPI_Comm_test_inter(comm, &mut inter);
        if rc != 0 {
            return Err(Error::new(Class::Arg, format!("invalid communicator {comm:#x} (MPI_Comm_test_inter returned {rc})")));
        }
        pmpi::PMPI_Comm_rank(comm, &mut rank);
        pmpi::PMPI_Comm_size(comm, &mut size);
        remote = size;
        if inter != 0 {
            pmpi::PMPI_Comm_remote_size(comm, &mut remote);
        }
    }
    Ok(CommInfo { inter: inter != 0, rank, size, remote })
}

/// `n` segments `counts[i]` elements of `dt` at `displs[i] * extent(dt)` bytes (v variants).
unsafe fn segs_v<C: CountT, D: CountT>(counts: *const C, displs: *const D, n: c_int, dt: Handle) -> Result<Vec<Seg>> {
    if n > 0 && (counts.is_null() || displs.is_null()) {
        return Err(Error::new(Class::Arg, "NULL counts or displacements array"));
    }
    let mut segs = Vec::with_capacity(n as usize);
    let mut extent = None;
    for i in 0..n.max(0) as usize {
        // SAFETY: the arrays have one entry per process of the group, by the MPI standard.
        let (c, d) = unsafe { (at(counts, i), at(displs, i)) };
        if c == 0 {
            continue;
        }
        let ext = match extent {
            Some(e) => e,
            // SAFETY: dt is the application's datatype.
            None => *extent.insert(unsafe { datatype::info(dt) }?.extent),
        };
        segs.push(Seg { disp: d * ext, count: c, dt });
    }
    Ok(segs)
}

/// `n` segments `counts[i]` elements of `types[i]` at `displs[i]` bytes (w variants).
unsafe fn segs_w<C: CountT, D: CountT>(counts: *const C, displs: *const D, types: *const c_void, n: c_int) -> Result<Vec<Seg>> {
    if n > 0 && (counts.is_null() || displs.is_null() || types.is_null()) {
        return Err(Error::new(Class::Arg, "NULL counts, displacements or datatypes array"));
    }
    let abi = abi();
    let mut segs = Vec::with_capacity(n as usize);
    for i in 0..n.max(0) as usize {
        // SAFETY: the arrays have one entry per process of the group, by the MPI standard.
        let (c, d, t) = unsafe { (at(counts, i), at(displs, i), abi.handle_at(types, i)) };
        if c != 0 {
            segs.push(Seg { disp: d, count: c, dt: t });
        }
    }
    Ok(segs)
}

/// `count` elements of `dt`, `blocks` times back to back (Gather's and Alltoall's receive buffers).
unsafe fn blocks(count: i64, dt: Handle, blocks: c_int) -> Result<[Seg; 1]> {
    Ok([Seg::new(count * blocks.max(0) as i64, dt)])
}

fn in_place(p: CBuf) -> bool {
    abi().is_in_place(p)
}

// ---------------------------------------------------------------- point-to-point (MPI-4.1 chapter 3)

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

/// Nonblocking MPI_Isendrecv.
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
    unsafe { Ok((plan.arg(sbuf, scount.get(), stype, Use::In)?, plan.arg(rbuf, rcount.get(), rtype, Use::Recv)?)) }
}

// ---------------------------------------------------------------- collectives (MPI-4.1 chapter 6)

/// Which side of a rooted collective this process is on.
enum Rooted {
    /// The root (intracommunicator) or MPI_ROOT (intercommunicator).
    Root,
    /// A non-root process, in the group that sends to or receives from the root.
    Leaf,
    /// MPI_PROC_NULL in the root's group of an intercommunicator: no buffer is significant.
    Idle,
}

fn rooted(ci: &CommInfo, root: c_int) -> Rooted {
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
fn group(ci: &CommInfo) -> c_int {
    if ci.inter {
        ci.remote
    } else {
        ci.size
    }
}

pub unsafe fn bcast<C: CountT>(plan: &mut Plan, buf: Buf, count: C, dt: Handle, root: c_int, comm: Handle) -> Result<(Buf,)> {
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn gather<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    root: c_int,
    comm: Handle,
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn gatherv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcounts: *const C,
    displs: *const D,
    rtype: Handle,
    root: c_int,
    comm: Handle,
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn scatter<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    root: c_int,
    comm: Handle,
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn scatterv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scounts: *const C,
    displs: *const D,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    root: c_int,
    comm: Handle,
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
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    comm: Handle,
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn allgather<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    comm: Handle,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe { all_to(plan, sbuf, scount, stype, rbuf, rcount, rtype, comm, false) }
}

#[allow(clippy::too_many_arguments)]
pub unsafe fn alltoall<C: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcount: C,
    rtype: Handle,
    comm: Handle,
) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe { all_to(plan, sbuf, scount, stype, rbuf, rcount, rtype, comm, true) }
}

#[allow(clippy::too_many_arguments)]
pub unsafe fn allgatherv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scount: C,
    stype: Handle,
    rbuf: Buf,
    rcounts: *const C,
    displs: *const D,
    rtype: Handle,
    comm: Handle,
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn alltoallv<C: CountT, D: CountT>(
    plan: &mut Plan,
    sbuf: CBuf,
    scounts: *const C,
    sdispls: *const D,
    stype: Handle,
    rbuf: Buf,
    rcounts: *const C,
    rdispls: *const D,
    rtype: Handle,
    comm: Handle,
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
    comm: Handle,
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

#[allow(clippy::too_many_arguments)]
pub unsafe fn reduce<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, count: C, dt: Handle, root: c_int, comm: Handle) -> Result<(CBuf, Buf)> {
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
pub unsafe fn allreduce<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, count: C, dt: Handle) -> Result<(CBuf, Buf)> {
    let n = count.get();
    // SAFETY: forwarded contract.
    unsafe {
        if in_place(sbuf) {
            return Ok((sbuf, plan.arg(rbuf, n, dt, Use::InOut)?));
        }
        Ok((plan.arg(sbuf, n, dt, Use::In)?, plan.arg(rbuf, n, dt, Use::Out)?))
    }
}

/// Exscan: as Allreduce, but rank 0's receive buffer is undefined afterwards, so it is left as it was.
pub unsafe fn exscan<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, count: C, dt: Handle, comm: Handle) -> Result<(CBuf, Buf)> {
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
pub unsafe fn reduce_scatter<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, rcounts: *const C, dt: Handle, comm: Handle) -> Result<(CBuf, Buf)> {
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
pub unsafe fn reduce_scatter_block<C: CountT>(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, rcount: C, dt: Handle, comm: Handle) -> Result<(CBuf, Buf)> {
    // SAFETY: forwarded contract.
    unsafe {
        let ci = comm_info(comm)?;
        reduce_scatter_parts(plan, sbuf, rbuf, rcount.get() * ci.size as i64, rcount.get(), dt)
    }
}

unsafe fn reduce_scatter_parts(plan: &mut Plan, sbuf: CBuf, rbuf: Buf, total: i64, mine: i64, dt: Handle) -> Result<(CBuf, Buf)> {
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
