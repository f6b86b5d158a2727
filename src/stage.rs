//! Staging plans: which VE buffers an MPI call touches, the host buffers that stand in for them, and
//! the copies between the two.
//!
//! A [`Plan`] collects one [`Staged`] item per VE buffer argument. Each item covers the span of all
//! the segments (count, datatype, displacement) the call reads or writes in that buffer, and records
//! two layouts: what to *load* (copy VE to host before MPI reads it) and what to *store* (copy host to
//! VE once MPI has written it). Stores copy only the bytes the datatypes cover, so holes between blocks
//! keep their VE contents; a receive of a predefined type stores only the bytes that arrived.
//!
//! The plan lives on the stack for a blocking call, and in the request table
//! ([`crate::requests`]) for a nonblocking or persistent one until the application completes it.

use crate::abi::{Class, Datatype, StatusBuf};
use crate::datatype::{self, Run, Span};
use crate::errors::{Error, Result};
use crate::pool::PoolBuf;
use crate::real::{abi, pmpi};
use crate::stats::{self, Dir};
use crate::{ve, vekernel};
use smallvec::SmallVec;
use std::cell::Cell;
use std::ffi::c_void;

/// The overhead of one VE copy, in bytes of transfer it is worth (used to decide between copying a
/// holey span whole or block by block).
const PER_COPY_BYTES: usize = 16 * 1024;

/// `count` elements of `dt` at byte displacement `disp` from a buffer's address.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub disp: i64,
    pub count: i64,
    pub dt: Datatype,
}

impl Seg {
    pub fn new(count: i64, dt: Datatype) -> Seg {
        Seg { disp: 0, count, dt }
    }
}

/// Bytes of a staged span to copy, relative to the span's start.
#[derive(Debug)]
enum Layout {
    /// The whole span.
    All,
    /// Sorted, disjoint runs.
    Runs(Vec<(usize, usize)>),
}

/// One VE buffer argument and the host buffer standing in for it.
pub struct Staged {
    /// VE address of the span's first byte.
    ve: usize,
    host: PoolBuf,
    len: usize,
    load: Option<Layout>,
    store: Option<Layout>,
    /// Store only what the status says arrived: that many bytes from the start of the span
    /// ([`Layout::All`]) or of the runs ([`Layout::Runs`]); a receive whose type map ascends.
    limit: bool,
    /// Store only the bytes before the position the real call left in `*.0` (an offset from the
    /// buffer address, an `MPI_Count` if `.2`, else an `int`; `.1` is the span's offset from it):
    /// MPI_Pack's output.
    upto: Option<(*const c_void, i64, bool)>,
}

/// How a call uses a buffer argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Use {
    /// MPI reads it (send buffer).
    In,
    /// MPI writes all of it (collective receive buffer).
    Out,
    /// MPI reads and writes it (IN_PLACE, Sendrecv_replace).
    InOut,
    /// MPI writes up to the received message (point-to-point and file receives).
    Recv,
}

/// The staging of one MPI call.
pub struct Plan {
    pub func: &'static str,
    items: SmallVec<[Staged; 2]>,
    /// The status a [`Use::Recv`] store reads in a blocking call.
    status: *mut c_void,
    own_status: StatusBuf,
    /// A VE buffer was staged as a [`Use::Recv`]: the operation's status says what arrived (and
    /// whether it was cancelled). Other operations' statuses (collectives) may be left unset.
    receives: bool,
    /// The state an upper layer's protocol keeps for this operation (the pipelined protocol's,
    /// MPIVE_PIPELINE=1), run at completion before the plan's own stores.
    pub pipe: Option<Box<dyn Protocol>>,
}

/// What a protocol above the staging layer (the pipelined protocol) keeps in a [`Plan`]: the plan
/// asks it first when its operation completes.
pub trait Protocol {
    /// Whether the plan must look at its operation's status at completion.
    fn watches(&self) -> bool;
    /// The operation completed with `status` (None: the blocking call's own). Returns Ok(true) when
    /// the plan's own stores must be skipped (the protocol put the data where it belongs).
    ///
    /// # Safety
    /// `status` is NULL or a status of the real MPI for this operation; the buffers are allocated.
    unsafe fn complete(&mut self, status: Option<*const c_void>) -> Result<bool>;
    /// The completion is reported again after the data was stored (MPI_Request_get_status, then
    /// Wait): the status must say the same again.
    ///
    /// # Safety
    /// `status` is a status of the real MPI for this operation.
    unsafe fn report_again(&mut self, status: *const c_void);
}

// SAFETY: a plan owns its staging buffers; the raw status pointer is only used by the thread that
// completes the operation.
unsafe impl Send for Plan {}

impl Plan {
    pub fn new(func: &'static str) -> Plan {
        Plan { func, items: SmallVec::new(), status: std::ptr::null_mut(), own_status: StatusBuf::new(), receives: false, pipe: None }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the plan has anything to copy back at completion.
    pub fn stores(&self) -> bool {
        self.items.iter().any(|s| s.store.is_some()) || self.pipe.as_ref().is_some_and(|p| p.watches())
    }

    /// Whether the plan stages a receive, whose status is meaningful at completion.
    pub fn receives(&self) -> bool {
        self.receives || self.pipe.as_ref().is_some_and(|p| p.watches())
    }

    /// Stages a buffer of one segment.
    ///
    /// # Safety
    /// `buf` and `dt` are arguments the application passed to `self.func`.
    pub unsafe fn arg(&mut self, buf: *const c_void, count: i64, dt: Datatype, u: Use) -> Result<*mut c_void> {
        let seg = [Seg::new(count, dt)];
        // SAFETY: forwarded contract.
        unsafe { self.stage(buf, &seg, u) }
    }

    /// Stages a buffer that `segs` describe; returns the address to give MPI instead of `buf`.
    /// Host buffers and sentinels come back unchanged.
    ///
    /// # Safety
    /// `buf` and the datatypes in `segs` are arguments the application passed to `self.func`.
    pub unsafe fn stage(&mut self, buf: *const c_void, segs: &[Seg], u: Use) -> Result<*mut c_void> {
        let (load, store) = match u {
            Use::In => (true, false),
            Use::Out => (false, true),
            Use::InOut => (true, true),
            Use::Recv => (false, true),
        };
        // SAFETY: forwarded contract.
        unsafe { self.stage_with(buf, segs, if load { segs } else { &[] }, if store { segs } else { &[] }, u == Use::Recv) }
    }

    /// The general form: `load` segments are copied in before the call, `store` segments out after it.
    ///
    /// # Safety
    /// As for [`Plan::stage`].
    pub unsafe fn stage_with(&mut self, buf: *const c_void, segs: &[Seg], load: &[Seg], store: &[Seg], recv: bool) -> Result<*mut c_void> {
        if !ve::is_ve(buf) {
            return Ok(buf as *mut c_void);
        }
        let base = buf as usize as i64;
        // SAFETY: forwarded contract.
        let (span, load, store, limit) = unsafe { layouts(segs, load, store, recv) }?;
        let host = PoolBuf::get(span.len() as usize)?;
        self.receives |= recv;
        let host_for_buf = (host.as_ptr() as i64 - span.lo) as usize as *mut c_void;
        self.items.push(Staged { ve: (base + span.lo) as usize, host, len: span.len() as usize, load, store, limit, upto: None });
        Ok(host_for_buf)
    }

    /// Makes the store of the item just staged for `buf` stop at the position the real call writes
    /// to `*end` (bytes from `buf`), e.g. MPI_Pack's updated `position`. Nothing for a host `buf`.
    ///
    /// # Safety
    /// `end` stays valid until the plan stores (blocking calls only).
    pub unsafe fn store_upto<P: crate::abi::CountT>(&mut self, buf: *const c_void, end: *const P) {
        if !ve::is_ve(buf) {
            return;
        }
        if let Some(s) = self.items.last_mut() {
            s.upto = Some((end as *const c_void, s.ve as i64 - buf as usize as i64, std::mem::size_of::<P>() == 8));
        }
    }

    /// Points a blocking receive's status at `status`, or at the plan's own when it is
    /// MPI_STATUS_IGNORE; returns the status to give MPI.
    pub fn recv_status(&mut self, status: *mut c_void) -> *mut c_void {
        if !self.items.iter().any(|s| s.limit) {
            return status;
        }
        self.status = if abi().is_status_ignore(status) { self.own_status.as_mut_ptr() } else { status };
        self.status
    }

    /// Copies every load layout from VE memory into the staging buffers.
    ///
    /// # Safety
    /// The VE buffers are still allocated.
    pub unsafe fn load(&mut self) -> Result<()> {
        for s in &self.items {
            let Some(l) = &s.load else { continue };
            // SAFETY: host has s.len bytes; the runs lie inside [0, s.len).
            unsafe {
                match l {
                    Layout::All => ve::read(s.host.as_ptr(), s.ve, s.len)?,
                    Layout::Runs(runs) => {
                        let covered: usize = runs.iter().map(|r| r.1).sum();
                        // One copy of the whole span beats many small ones when the holes cost less
                        // than the per-copy overhead (a VE DMA costs about as much as 16 KiB of
                        // transfer); fall back to the runs if the span crosses memory the type does
                        // not touch.
                        // With the VE kernel the runs cost one call and one copy however many
                        // there are ([`crate::vekernel`]).
                        let cost = vekernel::runs_cost(s.ve, runs.len());
                        let whole = runs.len() > 1 && s.len <= covered.saturating_add(cost.saturating_mul(PER_COPY_BYTES));
                        if whole && ve::read(s.host.as_ptr(), s.ve, s.len).is_ok() {
                            continue;
                        }
                        copy_runs(Dir::FromVe, s, runs)?;
                    }
                }
            }
        }
        if !self.items.is_empty() {
            stats::count_staged_call();
        }
        Ok(())
    }

    /// Copies every store layout back to VE memory. `status` is the completed operation's status for
    /// limited (receive) stores; None uses the one given to [`Plan::recv_status`].
    ///
    /// # Safety
    /// The VE buffers are still allocated; `status` is NULL or a status of the real MPI.
    pub unsafe fn store(&mut self, status: Option<*const c_void>) -> Result<()> {
        // A receive that brought a pipelined message: its chunks go where they belong first.
        if let Some(p) = self.pipe.as_mut() {
            // SAFETY: forwarded contract.
            if unsafe { p.complete(status) }? {
                return Ok(());
            }
        }
        let status = status.unwrap_or(self.status);
        for s in &self.items {
            let Some(l) = &s.store else { continue };
            // SAFETY: as in load.
            unsafe {
                match l {
                    Layout::All => {
                        let n = if s.limit && !status.is_null() { received_bytes(status)?.min(s.len) } else { s.len };
                        ve::write(s.ve, s.host.as_ptr(), n.min(upto(s)))?
                    }
                    Layout::Runs(runs) => {
                        let end = upto(s);
                        // Only the runs' bytes are written (the holes are the VE's): with the VE
                        // kernel in one copy and one call ([`crate::vekernel`]).
                        let cut: Vec<(usize, usize)>;
                        let runs: &[(usize, usize)] = if end < s.len {
                            cut = runs.iter().filter(|r| r.0 < end).map(|&(o, n)| (o, n.min(end - o))).collect();
                            &cut
                        } else if s.limit {
                            // A short message fills the runs' first bytes only (the type map ascends).
                            if status.is_null() || abi().is_status_ignore(status) {
                                return Err(Error::new(Class::Intern, "a receive into a derived datatype completed without a status to say how much arrived"));
                            }
                            let arrived = received_bytes(status)?;
                            if arrived < runs.iter().map(|r| r.1).sum() {
                                cut = first_bytes(runs, arrived);
                                &cut
                            } else {
                                runs
                            }
                        } else {
                            runs
                        };
                        copy_runs(Dir::ToVe, s, runs)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The first `n` bytes of `runs`, the last one cut where they end.
fn first_bytes(runs: &[(usize, usize)], mut n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &(o, len) in runs {
        if n == 0 {
            break;
        }
        out.push((o, len.min(n)));
        n -= len.min(n);
    }
    out
}

/// Copies the `runs` of `s` in direction `dir`: in one kernel call or overlapping copies where the
/// VE process allows ([`vekernel::copy_runs`]), else one copy per run.
///
/// # Safety
/// The VE buffer is still allocated; the runs lie inside the span.
unsafe fn copy_runs(dir: Dir, s: &Staged, runs: &[(usize, usize)]) -> Result<()> {
    // SAFETY: the host buffer has s.len bytes and the runs lie inside [0, s.len) (forwarded contract).
    if !unsafe { vekernel::copy_runs(dir, s.ve, s.host.as_ptr(), runs) }? {
        for &(o, n) in runs {
            // SAFETY: as above, for one run.
            unsafe { ve::copy(dir, s.ve + o, s.host.as_ptr().add(o), n) }?;
        }
    }
    Ok(())
}

/// What [`Plan::stage_with`] stages for `segs`: the span, the load and store layouts, and whether a
/// receive stores only what arrived.
unsafe fn layouts(segs: &[Seg], load: &[Seg], store: &[Seg], recv: bool) -> Result<(Span, Option<Layout>, Option<Layout>, bool)> {
    // The common case, and the small messages' path: one segment of a predefined type
    // without holes, loaded and stored whole or not at all; a receive into it at the buffer's
    // address stores only what arrived. No layouts to compute.
    if let [s] = segs {
        let whole = |part: &[Seg]| part.is_empty() || std::ptr::eq(part, segs);
        if s.count > 0 && whole(load) && whole(store) && (!recv || s.disp == 0) {
            // SAFETY: forwarded contract.
            let t = unsafe { datatype::info(s.dt) }?;
            if t.named && t.dense(s.count) {
                let all = |part: &[Seg]| (!part.is_empty()).then_some(Layout::All);
                return Ok((t.span(s.count).shift(s.disp), all(load), all(store), recv));
            }
        }
    }
    let mut span = Span::EMPTY;
    let mut infos: SmallVec<[(Seg, datatype::TypeInfo); 1]> = SmallVec::new();
    for s in segs {
        if s.count < 0 {
            return Err(Error::new(Class::Count, format!("negative count {}", s.count)));
        }
        if s.count == 0 {
            continue;
        }
        // SAFETY: forwarded contract.
        let t = unsafe { datatype::info(s.dt) }?;
        span = span.union(t.span(s.count).shift(s.disp));
        infos.push((*s, t));
    }
    // A receive stores only what arrived. When its type map fills the type's runs in ascending order
    // (a predefined type, contiguous and vector types, most indexed and struct types), the first
    // n bytes of a message are the first n bytes of the runs, so the store is cut at what the status
    // says arrived and nothing is read first: one copy (and one kernel call) per receive. Otherwise
    // the runs are loaded first so that bytes which did not arrive are written back unchanged.
    let limit = recv
        && match (segs, infos.as_slice()) {
            ([seg], [(_, t)]) => {
                // SAFETY: forwarded contract.
                unsafe { datatype::in_order(seg.dt, t, seg.count) }?
            }
            _ => false,
        };
    let must_load_for_recv = recv && !limit;
    let load_layout = if must_load_for_recv {
        // SAFETY: forwarded contract.
        Some(unsafe { layout(&infos, segs, true, span) }?)
    } else if load.is_empty() {
        None
    } else {
        // SAFETY: forwarded contract.
        Some(unsafe { layout(&infos, load, std::ptr::eq(load, segs), span) }?)
    };
    let store_layout = if store.is_empty() {
        None
    } else {
        // SAFETY: forwarded contract.
        Some(unsafe { layout(&infos, store, std::ptr::eq(store, segs), span) }?)
    };
    Ok((span, load_layout, store_layout, limit))
}

/// How many bytes of `s` may be stored: all, or those before the position its call wrote.
unsafe fn upto(s: &Staged) -> usize {
    match s.upto {
        None => s.len,
        // SAFETY: the pointer is the application's position argument, valid during its call.
        Some((end, lo, wide)) => {
            // SAFETY: as above, of the width recorded.
            let pos = unsafe { if wide { (end as *const i64).read_unaligned() } else { (end as *const std::ffi::c_int).read_unaligned() as i64 } };
            (pos - lo).clamp(0, s.len as i64) as usize
        }
    }
}

impl Plan {
    /// The operation's completion is reported again after its data was stored
    /// (MPI_Request_get_status, then Wait): a pipelined message's status gets its size again.
    ///
    /// # Safety
    /// As for [`Plan::store`].
    pub unsafe fn report_again(&mut self, status: *const c_void) {
        if let Some(p) = self.pipe.as_mut() {
            // SAFETY: forwarded contract.
            unsafe { p.report_again(status) };
        }
    }
}

/// Bytes a completed receive delivered. The status's count field is read directly ([`Abi::status_bytes`]
/// saves a call into the library per small receive); the first time, it is checked against
/// MPI_Get_elements_x, and a library that disagrees is asked every time after.
///
/// [`Abi::status_bytes`]: crate::abi::Abi::status_bytes
unsafe fn received_bytes(status: *const c_void) -> Result<usize> {
    use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
    const UNKNOWN: u8 = 0;
    const DIRECT: u8 = 1;
    const ASK: u8 = 2;
    static HOW: AtomicU8 = AtomicU8::new(UNKNOWN);
    let how = HOW.load(Relaxed);
    if how == DIRECT {
        // SAFETY: status is a status of the real MPI.
        let n = unsafe { abi().status_bytes(status) };
        if n >= 0 {
            return Ok(n as usize);
        }
    }
    let mut n: i64 = 0;
    // SAFETY: status is a status of the real MPI.
    let rc = unsafe { pmpi::PMPI_Get_elements_x(status, abi().h.byte, &mut n) };
    if rc != 0 || n < 0 {
        return Err(Error::new(Class::Intern, format!("cannot read the size of a received message (MPI_Get_elements_x returned {rc})")));
    }
    if how == UNKNOWN {
        // SAFETY: as above.
        let direct = unsafe { abi().status_bytes(status) };
        if direct != n {
            log::warn!("the MPI library's status does not keep the byte count where expected ({direct} != {n}); asking MPI_Get_elements_x");
            HOW.store(ASK, Relaxed);
        } else if n > 0 {
            // an empty message would agree with a wrong layout as well
            HOW.store(DIRECT, Relaxed);
        }
    }
    Ok(n as usize)
}

/// The layout of `part` within `span`; `whole` says that `part` is all the staged segments.
unsafe fn layout(infos: &[(Seg, datatype::TypeInfo)], part: &[Seg], whole: bool, span: Span) -> Result<Layout> {
    let all: u64 = infos.iter().map(|(s, t)| t.size as u64 * s.count as u64).sum();
    // The common case: the segments fill the span without holes or overlaps.
    if whole && all == span.len() && infos.iter().all(|(s, t)| t.dense(s.count)) {
        return Ok(Layout::All);
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut parts = 0;
    for p in part.iter().filter(|p| p.count > 0) {
        parts += 1;
        let t = match infos.iter().find(|(s, _)| s.dt == p.dt && s.count >= p.count) {
            Some((_, t)) => *t,
            // SAFETY: forwarded contract.
            None => unsafe { datatype::info(p.dt) }?,
        };
        if t.dense(p.count) {
            let sp = t.span(p.count).shift(p.disp);
            runs.push((sp.lo, sp.len()));
        } else {
            // SAFETY: forwarded contract.
            let cov = unsafe { datatype::coverage(p.dt, &t, p.count) }?;
            runs.extend(cov.iter().map(|&(o, l)| (o + p.disp, l)));
        }
    }
    // One part's runs are sorted and merged already.
    let runs = if parts > 1 {
        datatype::merge(runs)
    } else {
        runs.retain(|r| r.1 > 0);
        runs
    };
    if runs.len() == 1 && runs[0].0 == span.lo && runs[0].1 == span.len() {
        return Ok(Layout::All);
    }
    Ok(Layout::Runs(runs.into_iter().map(|(o, l)| ((o - span.lo) as usize, l as usize)).collect()))
}

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is already inside a staged call: the MPI library is calling MPI_* itself
/// (ROMIO does), and the call must be forwarded untouched. Never inlined: a thread-local access is a
/// call (`__tls_get_addr`) that the compiler would otherwise hoist into host paths, which ask only
/// when a VE request exists.
#[inline(never)]
pub fn reentered() -> bool {
    INSIDE.with(|c| c.get())
}

/// Marks this thread as inside a staged call until dropped.
pub struct Inside(bool);

impl Inside {
    pub fn enter() -> Inside {
        Inside(INSIDE.with(|c| c.replace(true)))
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.with(|c| c.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::first_bytes;

    #[test]
    fn a_short_message_fills_the_first_bytes_of_the_runs() {
        let runs = [(0, 8), (12, 8), (24, 8)];
        assert_eq!(first_bytes(&runs, 0), vec![]);
        assert_eq!(first_bytes(&runs, 8), vec![(0, 8)]);
        assert_eq!(first_bytes(&runs, 20), vec![(0, 8), (12, 8), (24, 4)]);
        assert_eq!(first_bytes(&runs, 99), runs.to_vec());
    }
}
