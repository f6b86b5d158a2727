//! Neighbor collective message forms (MPI-4.1 chapter 8, §8.6).
//!
//! The number of blocks comes from the communicator's topology: `indegree` blocks are received,
//! `outdegree` blocks sent. A Cartesian grid has `2 * ndims` of each, ordered per dimension as
//! (negative, positive) neighbor, the source and destination of `MPI_Cart_shift(comm, d, 1)`; a graph
//! has as many as the rank's neighbors; a distributed graph its in- and out-degree. A neighbor may
//! appear more than once: each occurrence is its own block.
//!
//! A receive block whose source is MPI_PROC_NULL (the edges of a non-periodic grid) is not written by
//! the real MPI, so the shim does not copy it back either: those VE bytes keep their contents, as
//! host memory does.

use super::{blocks_v, blocks_w, segs_v, segs_w, Buf, CBuf, CountT};
use crate::abi::{Class, Comm, Datatype};
use crate::datatype;
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};
use crate::stage::{Plan, Seg, Use};
use std::ffi::{c_int, c_void};

/// The neighborhood of this process in a topology communicator.
struct Neighbors {
    indegree: c_int,
    outdegree: c_int,
    /// For each receive block, whether its source is MPI_PROC_NULL.
    null_source: Vec<bool>,
}

/// Queries the topology of `comm`.
///
/// # Safety
/// `comm` is a communicator handle the application passed.
unsafe fn neighbors(comm: Comm) -> Result<Neighbors> {
    let abi = abi();
    let mut kind: c_int = 0;
    // SAFETY: out-pointers to locals and arrays of the announced lengths.
    unsafe {
        let rc = pmpi::PMPI_Topo_test(comm, &mut kind);
        if rc != 0 {
            return Err(Error::new(Class::Arg, format!("invalid communicator {comm:#x} (MPI_Topo_test returned {rc})")));
        }
        if kind == abi.topo_cart {
            let mut ndims = 0;
            pmpi::PMPI_Cartdim_get(comm, &mut ndims);
            let mut null_source = Vec::with_capacity(2 * ndims.max(0) as usize);
            for d in 0..ndims {
                let (mut src, mut dst) = (0, 0);
                pmpi::PMPI_Cart_shift(comm, d, 1, &mut src, &mut dst);
                null_source.push(src == abi.proc_null);
                null_source.push(dst == abi.proc_null);
            }
            Ok(Neighbors { indegree: 2 * ndims, outdegree: 2 * ndims, null_source })
        } else if kind == abi.topo_graph {
            let (mut rank, mut n) = (0, 0);
            pmpi::PMPI_Comm_rank(comm, &mut rank);
            pmpi::PMPI_Graph_neighbors_count(comm, rank, &mut n);
            Ok(Neighbors { indegree: n, outdegree: n, null_source: vec![false; n.max(0) as usize] })
        } else if kind == abi.topo_dist_graph {
            let (mut indeg, mut outdeg, mut weighted) = (0, 0, 0);
            pmpi::PMPI_Dist_graph_neighbors_count(comm, &mut indeg, &mut outdeg, &mut weighted);
            let (i, o) = (indeg.max(0) as usize, outdeg.max(0) as usize);
            let (mut src, mut sw) = (vec![0; i.max(1)], vec![0; i.max(1)]);
            let (mut dst, mut dw) = (vec![0; o.max(1)], vec![0; o.max(1)]);
            let rc = pmpi::PMPI_Dist_graph_neighbors(comm, indeg, src.as_mut_ptr(), sw.as_mut_ptr(), outdeg, dst.as_mut_ptr(), dw.as_mut_ptr());
            if rc != 0 {
                return Err(Error::new(Class::Arg, format!("cannot read the neighbors of {comm:#x} (MPI_Dist_graph_neighbors returned {rc})")));
            }
            Ok(Neighbors { indegree: indeg, outdegree: outdeg, null_source: src[..i].iter().map(|&s| s == abi.proc_null).collect() })
        } else {
            Err(Error::new(
                Class::Arg,
                "the communicator has no process topology: neighbor collectives need a Cartesian, graph or distributed graph \
                 communicator (MPI_Cart_create, MPI_Graph_create, MPI_Dist_graph_create(_adjacent))",
            ))
        }
    }
}

/// Stages a receive buffer of one block per in-neighbor (`blocks[i]` for neighbor `i`, None for an
/// empty block): MPI writes every block, except those from MPI_PROC_NULL, which are not copied back.
unsafe fn recblocks_v(plan: &mut Plan, rbuf: Buf, nb: &Neighbors, blocks: &[Option<Seg>]) -> Result<Buf> {
    let all: Vec<Seg> = blocks.iter().flatten().copied().collect();
    let from_null = |i: usize| nb.null_source.get(i).copied().unwrap_or(false);
    // SAFETY: the segments describe the application's receive buffer.
    unsafe {
        if !blocks.iter().enumerate().any(|(i, b)| b.is_some() && from_null(i)) {
            return plan.stage(rbuf, &all, Use::Out);
        }
        let store: Vec<Seg> = blocks.iter().enumerate().filter(|&(i, _)| !from_null(i)).filter_map(|(_, b)| *b).collect();
        plan.stage_with(rbuf, &all, &[], &store, false)
    }
}

/// `n` blocks of `count` elements of `dt`, back to back.
unsafe fn even_blocks(count: i64, dt: Datatype, n: c_int) -> Result<Vec<Option<Seg>>> {
    if count == 0 || n <= 0 {
        return Ok(vec![None; n.max(0) as usize]);
    }
    // SAFETY: dt is the application's datatype.
    let ext = unsafe { datatype::info(dt) }?.extent;
    Ok((0..n as i64).map(|i| Some(Seg { disp: i * count * ext, count, dt })).collect())
}

/// MPI_Neighbor_allgather: one block out (to every out-neighbor), one block in per in-neighbor.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn neighbor_allgather<C: CountT>(
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
    unsafe {
        let nb = neighbors(comm)?;
        let s = plan.arg(sbuf, scount.get(), stype, Use::In)?;
        let r = if crate::ve::is_ve(rbuf) { even_blocks(rcount.get(), rtype, nb.indegree)? } else { Vec::new() };
        Ok((s, recblocks_v(plan, rbuf, &nb, &r)?))
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn neighbor_allgatherv<C: CountT, D: CountT>(
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
        let nb = neighbors(comm)?;
        let s = plan.arg(sbuf, scount.get(), stype, Use::In)?;
        let r = if crate::ve::is_ve(rbuf) { blocks_v(rcounts, displs, nb.indegree, rtype)? } else { Vec::new() };
        Ok((s, recblocks_v(plan, rbuf, &nb, &r)?))
    }
}

/// MPI_Neighbor_alltoall: one block out per out-neighbor, one block in per in-neighbor.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn neighbor_alltoall<C: CountT>(
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
    unsafe {
        let nb = neighbors(comm)?;
        let s = plan.arg(sbuf, scount.get() * nb.outdegree.max(0) as i64, stype, Use::In)?;
        let r = if crate::ve::is_ve(rbuf) { even_blocks(rcount.get(), rtype, nb.indegree)? } else { Vec::new() };
        Ok((s, recblocks_v(plan, rbuf, &nb, &r)?))
    }
}

/// Stages the buffers of its MPI call.
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn neighbor_alltoallv<C: CountT, D: CountT>(
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
        let nb = neighbors(comm)?;
        let s = if crate::ve::is_ve(sbuf) { segs_v(scounts, sdispls, nb.outdegree, stype)? } else { Vec::new() };
        let s = plan.stage(sbuf, &s, Use::In)?;
        let r = if crate::ve::is_ve(rbuf) { blocks_v(rcounts, rdispls, nb.indegree, rtype)? } else { Vec::new() };
        Ok((s, recblocks_v(plan, rbuf, &nb, &r)?))
    }
}

/// MPI_Neighbor_alltoallw: byte displacements (`MPI_Aint` even in the `int` version).
///
/// # Safety
/// The arguments are the ones the application passed to the MPI call this form stages (buffers,
/// counts, datatypes and communicator valid as that call requires); `plan` belongs to that call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn neighbor_alltoallw<C: CountT, D: CountT>(
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
        let nb = neighbors(comm)?;
        let s = if crate::ve::is_ve(sbuf) { segs_w(scounts, sdispls, stypes, nb.outdegree)? } else { Vec::new() };
        let s = plan.stage(sbuf, &s, Use::In)?;
        let r = if crate::ve::is_ve(rbuf) { blocks_w(rcounts, rdispls, rtypes, nb.indegree)? } else { Vec::new() };
        Ok((s, recblocks_v(plan, rbuf, &nb, &r)?))
    }
}

/// Shapes of the neighbor forms ([`crate::msg::large`]): send arrays have outdegree entries, receive
/// arrays indegree.
pub mod shape {
    use super::neighbors;
    use crate::abi::{Comm, Datatype};
    use crate::errors::Result;
    use crate::msg::large::Shape;
    use crate::msg::{Buf, CBuf, CountT};
    use std::ffi::c_void;

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn neighbor_allgatherv<C: CountT, D: CountT>(
        _sbuf: CBuf, _scount: C, _stype: Datatype, _rbuf: Buf, rcounts: *const C, displs: *const D, _rtype: Datatype, comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let nb = unsafe { neighbors(comm) }?;
        let mut s = Shape::none();
        s.add(rcounts, nb.indegree);
        s.add(displs, nb.indegree);
        Ok(s)
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn neighbor_alltoallv<C: CountT, D: CountT>(
        _sbuf: CBuf, scounts: *const C, sdispls: *const D, _stype: Datatype, _rbuf: Buf, rcounts: *const C, rdispls: *const D,
        _rtype: Datatype, comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let nb = unsafe { neighbors(comm) }?;
        let mut s = Shape::none();
        s.add(scounts, nb.outdegree);
        s.add(sdispls, nb.outdegree);
        s.add(rcounts, nb.indegree);
        s.add(rdispls, nb.indegree);
        Ok(s)
    }

    /// The shape of the count and displacement arrays its MPI call reads.
    ///
    /// # Safety
    /// The arguments are the ones the application passed to the MPI call whose arrays are shaped:
    /// its count and displacement arrays have as many elements as that call reads.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn neighbor_alltoallw<C: CountT, D: CountT>(
        _sbuf: CBuf, scounts: *const C, sdispls: *const D, stypes: *const c_void, _rbuf: Buf, rcounts: *const C,
        rdispls: *const D, rtypes: *const c_void, comm: Comm,
    ) -> Result<Shape> {
        // SAFETY: comm is the application's communicator.
        let nb = unsafe { neighbors(comm) }?;
        let mut s = Shape::none();
        for (p, n) in [(scounts as *const c_void, nb.outdegree), (sdispls as _, nb.outdegree), (stypes, nb.outdegree),
                       (rcounts as _, nb.indegree), (rdispls as _, nb.indegree), (rtypes, nb.indegree)] {
            s.add(p, n);
        }
        Ok(s)
    }
}
