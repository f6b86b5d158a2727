//! Pipelined staging of large VE point-to-point messages (`MPIVE_PIPELINE=1`, issue 8).
//!
//! Without it, a VE send copies the whole message to the host, then MPI moves it, then the receiver
//! copies it all to VE memory: three steps one after the other. MPI cannot deliver one message in
//! parts, so overlapping them needs the message split into several messages, and a receiver that
//! knows: the protocol below, which every rank runs (all ranks must preload libmpive with the same
//! `MPIVE_PIPELINE` setting).
//!
//! ## Protocol
//! A VE send of a predefined contiguous datatype (MPI_DOUBLE, MPI_BYTE, ...; not the pair types)
//! of at least `MPIVE_PIPELINE_THRESHOLD` bytes, in MPI_Send, MPI_Ssend, MPI_Rsend, MPI_Isend,
//! MPI_Issend or MPI_Irsend, sends instead
//! 1. a [`HEADER_LEN`]-byte header, with the application's envelope (communicator, destination, tag)
//!    and send mode, so that it matches exactly the receive the message would have matched (wildcards,
//!    message order, MPI_Ssend semantics), and nonblocking sends return its request;
//! 2. the data in chunks of `MPIVE_PIPELINE_CHUNK` bytes, as separate messages on a private duplicate of
//!    MPI_COMM_WORLD (made in MPI_Init: duplicating is collective, so it cannot wait for the first
//!    transfer), to the destination's rank there (translated once per communicator and cached in an
//!    attribute), with a tag of their own per transfer.
//!
//! The copy engine ([`crate::dma`]) copies chunk k+1 from VE memory while chunk k is on its way, and
//! the receiver copies chunk k to VE memory while chunk k+1 arrives. The sender does not wait for the
//! chunks to be received: they are handed to the request table as freed requests (orphans), which
//! every completion call progresses and MPI_Finalize finishes, so a blocking send never waits for the
//! receiver more than the application's own message would (no deadlock that the unpipelined program
//! would not have). At most half of `MPIVE_STAGING_LIMIT` bytes of chunks are in flight per process;
//! a send above that waits for earlier chunks to be received.
//!
//! ## Receives
//! In pipelined mode every receive whose buffer can hold [`crate::tune::MIN_THRESHOLD`] bytes or more,
//! with a host or a VE buffer, checks its message at completion: exactly [`HEADER_LEN`] bytes that
//! start with the 128-bit magic and a valid check word are a header. The receiver then receives the
//! chunks (directly into a host buffer; through a ring of 4 chunk buffers and the copy engine into a
//! VE buffer; into one buffer and then through MPI's own unpacking for a non-contiguous datatype) and
//! sets the status's count to the whole message (MPI_Status_set_elements_x). Host receives reach this
//! because the `PMPI_*` functions of the receive calls resolve to the interposers below in pipelined
//! mode (`crate::real::Real`); VE receives through the message forms (`crate::msg`), which register a
//! [`Watch`] with the staging plan, checked when the plan stores ([`crate::stage::Plan::store`]).
//! A nonblocking receive is checked by the completion call that reports it complete (Wait, Test and
//! all their forms, MPI_Request_get_status, freed requests), which then receives the chunks before
//! returning: the sender is already sending them.
//!
//! ## Conditions
//! - all ranks run libmpive with MPIVE_PIPELINE=1 (else a receiver gets the header as data);
//! - MPI_Init or MPI_Init_thread is called through the C interface (C, C++, mpi4py); otherwise (e.g.
//!   Fortran on Open MPI, MPI sessions) nothing is pipelined;
//! - MPI_Probe, MPI_Iprobe, MPI_Mprobe and MPI_Improbe report a pipelined message with the header's
//!   size ([`HEADER_LEN`] bytes), not the message's: programs that size their receive buffers by probing
//!   must not use pipelined mode for VE sends (MPI_Mrecv and MPI_Imrecv with a large enough buffer work);
//! - a receive too small for a pipelined message gets MPI_ERR_TRUNCATE only if it can hold
//!   [`crate::tune::MIN_THRESHOLD`] bytes; a smaller one receives the header as data (the program is
//!   erroneous either way);
//! - MPI_Cancel of a pipelined send cancels at most its header;
//! - the large-count `_c` functions are not pipelined (their receives do not check for headers);
//! - peers outside MPI_COMM_WORLD (MPI_Comm_spawn) get unpipelined messages.

use crate::abi::{Class, Count, Handle, StatusBuf};
use crate::datatype::{self, TypeInfo};
use crate::dma::{self, Slot};
use crate::errors::{Error, Obj, Result};
use crate::pool::PoolBuf;
use crate::requests::{self, Kind};
use crate::stage::Plan;
use crate::stats::{count_staged_call, PIPELINED};
use crate::tune;
use crate::ve;
use parking_lot::Mutex;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// Bytes of a protocol header.
pub const HEADER_LEN: usize = 80;
/// The first 16 bytes of every header (random).
const MAGIC: [u8; 16] = [
    0x6d, 0x70, 0x69, 0x76, 0x65, 0x9c, 0x3e, 0xd1, 0x47, 0x0b, 0xf2, 0x85, 0x2a, 0xe6, 0x13, 0xb8,
];
const VERSION: u32 = 1;
/// Chunk buffers of a VE receive.
const RING: usize = 4;
/// Chunk receives into a host buffer posted at once.
const BATCH: usize = 64;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Header {
    magic: [u8; 16],
    version: u32,
    /// Tag of the chunks on the private communicator.
    xtag: i32,
    /// The sender's rank on the private communicator.
    src: i32,
    _pad: i32,
    chunk: u64,
    total: u64,
    check: u64,
    _rest: [u8; 24],
}

const _: () = assert!(std::mem::size_of::<Header>() == HEADER_LEN);

impl Header {
    fn check_word(&self) -> u64 {
        self.total.rotate_left(17)
            ^ self.chunk.rotate_left(41)
            ^ ((self.xtag as u32 as u64) << 32 | self.src as u32 as u64)
            ^ 0x9E37_79B9_7F4A_7C15
    }

    fn valid(&self) -> bool {
        self.magic == MAGIC && self.version == VERSION && self.check == self.check_word() && self.chunk > 0 && self.src >= 0
    }
}

// ---------------------------------------------------------------- real functions, not interposed

/// A `PMPI_*` function of the real library, resolved without the interposition of this module (the
/// shim's own calls, and the interposers' forwarding).
pub(crate) struct Direct {
    name: &'static str,
    ptr: AtomicPtr<c_void>,
}

impl Direct {
    pub(crate) const fn new(name: &'static str) -> Direct {
        Direct { name, ptr: AtomicPtr::new(std::ptr::null_mut()) }
    }

    #[inline]
    pub(crate) fn get(&self) -> *mut c_void {
        let p = self.ptr.load(Ordering::Relaxed);
        if !p.is_null() {
            return p;
        }
        self.resolve()
    }

    #[cold]
    fn resolve(&self) -> *mut c_void {
        let m = match crate::real::mpi() {
            Ok(m) => m,
            Err(e) => crate::real::fatal(e),
        };
        match m.sym(self.name) {
            Some(p) => {
                self.ptr.store(p, Ordering::Relaxed);
                p
            }
            None => crate::real::fatal(&format!("the MPI library has no {}", self.name)),
        }
    }
}

/// `fn NAME(args) -> c_int` calling the real `NAME` directly.
macro_rules! direct {
    ($( fn $name:ident ( $($p:ident : $t:ty),* $(,)? ); )*) => {
        $(
            #[allow(non_snake_case, clippy::too_many_arguments)]
            pub(crate) unsafe fn $name($($p: $t),*) -> c_int {
                static D: Direct = Direct::new(stringify!($name));
                // SAFETY: the symbol is the real library's function of this signature; the caller
                // passes valid arguments.
                unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($t),*) -> c_int>(D.get())($($p),*) }
            }
        )*
    };
}

direct! {
    fn PMPI_Isend(buf: *const c_void, count: c_int, dt: Handle, dest: c_int, tag: c_int, comm: Handle, req: *mut c_void);
    fn PMPI_Irecv(buf: *mut c_void, count: c_int, dt: Handle, src: c_int, tag: c_int, comm: Handle, req: *mut c_void);
    fn PMPI_Sendrecv(sbuf: *const c_void, scount: c_int, stype: Handle, dest: c_int, stag: c_int, rbuf: *mut c_void,
                     rcount: c_int, rtype: Handle, src: c_int, rtag: c_int, comm: Handle, status: *mut c_void);
    fn PMPI_Test(req: *mut c_void, flag: *mut c_int, status: *mut c_void);
    fn PMPI_Iallreduce(sbuf: *const c_void, rbuf: *mut c_void, count: c_int, dt: Handle, op: Handle, comm: Handle, req: *mut c_void);
    fn PMPI_Ibcast(buf: *mut c_void, count: c_int, dt: Handle, root: c_int, comm: Handle, req: *mut c_void);
    fn PMPI_Comm_dup(comm: Handle, newcomm: *mut c_void);
    fn PMPI_Comm_free(comm: *mut c_void);
    fn PMPI_Comm_rank(comm: Handle, rank: *mut c_int);
    fn PMPI_Comm_group(comm: Handle, group: *mut c_void);
    fn PMPI_Comm_remote_group(comm: Handle, group: *mut c_void);
    fn PMPI_Comm_test_inter(comm: Handle, flag: *mut c_int);
    fn PMPI_Group_size(group: Handle, size: *mut c_int);
    fn PMPI_Group_translate_ranks(g1: Handle, n: c_int, r1: *const c_int, g2: Handle, r2: *mut c_int);
    fn PMPI_Group_free(group: *mut c_void);
    fn PMPI_Comm_create_keyval(copy: *const c_void, delete: *const c_void, keyval: *mut c_int, extra: *mut c_void);
    fn PMPI_Comm_free_keyval(keyval: *mut c_int);
    fn PMPI_Comm_set_attr(comm: Handle, keyval: c_int, val: *mut c_void);
    fn PMPI_Comm_get_attr(comm: Handle, keyval: c_int, val: *mut c_void, flag: *mut c_int);
    fn PMPI_Status_set_elements_x(status: *mut c_void, dt: Handle, count: i64);
    fn PMPI_Get_elements_x(status: *const c_void, dt: Handle, count: *mut i64);
}

/// A handle read from the variable an MPI call wrote (a u64 holds a handle of either ABI).
pub(crate) fn handle_of(h: &u64) -> Handle {
    // SAFETY: h is a valid u64, large enough for a handle of either ABI (little-endian).
    unsafe { crate::real::abi().handle_at(h as *const u64 as *const c_void, 0) }
}

pub(crate) fn hp(h: &mut u64) -> *mut c_void {
    h as *mut u64 as *mut c_void
}

// ---------------------------------------------------------------- private communicators

struct Comms {
    /// Duplicate of MPI_COMM_WORLD for the chunks.
    world: Handle,
    world_group: Handle,
    /// Duplicate of MPI_COMM_SELF for local unpacking.
    me: Handle,
    /// Attribute of user communicators: their ranks on `world` (a leaked `Box<[c_int]>`).
    keyval: c_int,
}

static COMMS: Mutex<Option<Comms>> = Mutex::new(None);
/// Set while the private communicators exist (between MPI_Init and MPI_Finalize in pipelined mode).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PRIV_WORLD: AtomicU64 = AtomicU64::new(0);
static PRIV_SELF: AtomicU64 = AtomicU64::new(0);
static KEYVAL: AtomicU32 = AtomicU32::new(0);
static XTAG: AtomicU32 = AtomicU32::new(0);
static SELF_TAG: AtomicU32 = AtomicU32::new(0);
/// Bytes of chunk buffers of pipelined sends not yet received.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
static MAP_LOCK: Mutex<()> = Mutex::new(());

/// Whether the protocol can run now.
#[inline]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

extern "C" fn map_copy(_old: Handle, _key: c_int, _extra: *mut c_void, _in: *mut c_void, _out: *mut c_void, flag: *mut c_int) -> c_int {
    if !flag.is_null() {
        // SAFETY: MPI passes a valid flag pointer; 0: the duplicate does not inherit the map.
        unsafe { *flag = 0 };
    }
    0
}

extern "C" fn map_delete(_comm: Handle, _key: c_int, val: *mut c_void, _extra: *mut c_void) -> c_int {
    if !val.is_null() {
        // SAFETY: the value was set by world_rank from a leaked Box<[c_int]> of this length header.
        let _ = std::panic::catch_unwind(|| unsafe { drop(Box::from_raw(val as *mut Vec<c_int>)) });
    }
    0
}

/// After the real MPI_Init: creates the private communicators (pipelined mode only).
unsafe fn init_comms() {
    if !tune::pipeline() {
        return;
    }
    let abi = crate::real::abi();
    let (mut w, mut s, mut g) = (0u64, 0u64, 0u64);
    let mut key: c_int = 0;
    // SAFETY: plain MPI calls with out-pointers to locals, right after a successful MPI_Init.
    let ok = unsafe {
        PMPI_Comm_dup(abi.h.comm_world, hp(&mut w)) == 0
            && PMPI_Comm_dup(abi.h.comm_self, hp(&mut s)) == 0
            && PMPI_Comm_group(handle_of(&w), hp(&mut g)) == 0
            && PMPI_Comm_create_keyval(map_copy as *const c_void, map_delete as *const c_void, &mut key, std::ptr::null_mut()) == 0
    };
    if !ok {
        log::warn!("MPIVE_PIPELINE=1: cannot create the private communicators; messages are not pipelined");
        return;
    }
    let c = Comms { world: handle_of(&w), world_group: handle_of(&g), me: handle_of(&s), keyval: key };
    PRIV_WORLD.store(c.world as u64, Ordering::Relaxed);
    PRIV_SELF.store(c.me as u64, Ordering::Relaxed);
    KEYVAL.store(key as u32, Ordering::Relaxed);
    *COMMS.lock() = Some(c);
    ACTIVE.store(true, Ordering::Release);
    log::info!(
        "pipelined protocol on: VE sends of {} bytes and more in chunks of {} bytes",
        tune::threshold(),
        tune::chunk()
    );
}

/// MPI_Finalize, after the pending requests are finished: frees the private communicators.
pub fn finalize() {
    if !ACTIVE.swap(false, Ordering::AcqRel) {
        return;
    }
    let Some(mut c) = COMMS.lock().take() else { return };
    let mut w = c.world as u64;
    let mut s = c.me as u64;
    let mut g = c.world_group as u64;
    // SAFETY: the shim's own objects, no longer used by anyone (no pipelined operation is pending).
    unsafe {
        PMPI_Comm_free(hp(&mut w));
        PMPI_Comm_free(hp(&mut s));
        PMPI_Group_free(hp(&mut g));
        PMPI_Comm_free_keyval(&mut c.keyval);
    }
}

fn priv_world() -> Handle {
    PRIV_WORLD.load(Ordering::Relaxed) as Handle
}

/// The rank on the private communicator of `rank` of `comm` (of its remote group for an
/// intercommunicator), or None if it has none (a process outside MPI_COMM_WORLD).
unsafe fn world_rank(comm: Handle, rank: c_int) -> Option<c_int> {
    if rank < 0 {
        return None;
    }
    let key = KEYVAL.load(Ordering::Relaxed) as c_int;
    let lookup = || -> Option<*const Vec<c_int>> {
        let mut val: *mut c_void = std::ptr::null_mut();
        let mut flag: c_int = 0;
        // SAFETY: out-pointers to locals; comm is the application's communicator.
        let rc = unsafe { PMPI_Comm_get_attr(comm, key, &mut val as *mut *mut c_void as *mut c_void, &mut flag) };
        (rc == 0 && flag != 0 && !val.is_null()).then_some(val as *const Vec<c_int>)
    };
    let map = match lookup() {
        Some(m) => m,
        None => {
            let _g = MAP_LOCK.lock(); // one thread builds the map of a communicator
            match lookup() {
                Some(m) => m,
                // SAFETY: forwarded contract.
                None => unsafe { build_map(comm, key) }?,
            }
        }
    };
    // SAFETY: the map lives until the communicator is freed, which the application does not do
    // while it sends on it.
    let v = unsafe { &*map };
    v.get(rank as usize).copied().filter(|&r| r >= 0)
}

#[cold]
unsafe fn build_map(comm: Handle, key: c_int) -> Option<*const Vec<c_int>> {
    let abi = crate::real::abi();
    let wg = COMMS.lock().as_ref()?.world_group;
    let mut inter: c_int = 0;
    let mut g = 0u64;
    let mut n: c_int = 0;
    // SAFETY: out-pointers to locals; comm is the application's communicator.
    unsafe {
        if PMPI_Comm_test_inter(comm, &mut inter) != 0 {
            return None;
        }
        let rc = if inter != 0 { PMPI_Comm_remote_group(comm, hp(&mut g)) } else { PMPI_Comm_group(comm, hp(&mut g)) };
        if rc != 0 {
            return None;
        }
        PMPI_Group_size(handle_of(&g), &mut n);
        let ranks: Vec<c_int> = (0..n.max(0)).collect();
        let mut out = vec![abi.undefined; n.max(0) as usize];
        let rc = PMPI_Group_translate_ranks(handle_of(&g), n, ranks.as_ptr(), wg, out.as_mut_ptr());
        PMPI_Group_free(hp(&mut g));
        if rc != 0 {
            return None;
        }
        let out: Vec<c_int> = out.into_iter().map(|r| if r == abi.undefined { -1 } else { r }).collect();
        let p = Box::into_raw(Box::new(out));
        if PMPI_Comm_set_attr(comm, key, p as *mut c_void) != 0 {
            drop(Box::from_raw(p));
            return None;
        }
        Some(p)
    }
}

/// After a successful MPI_Init or MPI_Init_thread (`crate::api::process`): in pipelined mode, creates
/// the private communicators (duplicating is collective, so it is done where every rank is).
pub fn after_init() {
    if tune::pipeline() {
        // SAFETY: MPI is initialized.
        let _ = std::panic::catch_unwind(|| unsafe { init_comms() });
    }
}

// ---------------------------------------------------------------- state kept in a staging plan

/// What a staging plan keeps for this module ([`Plan`]'s `pipe` field).
pub enum State {
    /// A receive that may bring a header.
    Watch(Watch),
    /// Buffers that must live until the operation completes (a nonblocking send's header, a chunk).
    Hold(PoolBuf, u64),
}

impl crate::stage::Protocol for State {
    fn watches(&self) -> bool {
        matches!(self, State::Watch(_))
    }
    unsafe fn complete(&mut self, status: Option<*const c_void>) -> Result<bool> {
        // SAFETY: forwarded contract.
        unsafe { complete(self, status) }
    }
    unsafe fn report_again(&mut self, status: *const c_void) {
        // SAFETY: forwarded contract.
        unsafe { report_again(self, status) }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if let State::Hold(_, n) = self {
            IN_FLIGHT.fetch_sub(*n, Ordering::Relaxed);
        }
    }
}

/// Where a watched receive's data goes.
#[derive(Clone, Copy)]
enum Dest {
    /// The application's host buffer.
    Host,
    /// A VE buffer at this address, staged at the watch's `ptr`.
    Ve(usize),
}

/// A receive that may bring a protocol header.
pub struct Watch {
    dest: Dest,
    /// The receive buffer as given to MPI (host buffer, or staging buffer standing for the VE one).
    ptr: *mut u8,
    count: i64,
    dt: Handle,
    t: TypeInfo,
    /// The status given to a blocking receive (None: the completion call's).
    status: Option<*mut c_void>,
    own: StatusBuf,
    /// The size of the pipelined message received (statuses reported again get it too).
    total: Option<u64>,
}

pub(crate) fn linear(t: &TypeInfo) -> bool {
    t.named && t.size > 0 && t.size == t.extent && t.true_lb == 0 && t.true_extent == t.extent
}

/// A watch for `count` elements of `dt` received at `ptr`, if the buffer can hold a pipelined message.
unsafe fn watch_for(dest: Dest, ptr: *mut c_void, count: i64, dt: Handle) -> Option<Watch> {
    if !active() || count <= 0 {
        return None;
    }
    // SAFETY: dt is the application's datatype.
    let t = unsafe { datatype::info(dt) }.ok()?;
    if (t.size as u64).saturating_mul(count as u64) < tune::MIN_THRESHOLD {
        return None;
    }
    Some(Watch { dest, ptr: ptr.cast(), count, dt, t, status: None, own: StatusBuf::new(), total: None })
}

/// Message-form hook (`crate::msg`): a receive of `(buf, count, dt)`, given to MPI as `staged`, may
/// bring a pipelined message. `status` is a blocking receive's status (Some), for which the status to
/// give MPI is returned (the plan's own if the application passed MPI_STATUS_IGNORE).
///
/// # Safety
/// The arguments are the application's; `plan` does not move until the operation completes
/// (blocking) or `status` is None.
#[inline]
pub unsafe fn watch(plan: &mut Plan, buf: *const c_void, staged: *mut c_void, count: i64, dt: Handle, status: Option<*mut c_void>) -> *mut c_void {
    let st = status.unwrap_or(std::ptr::null_mut());
    if !tune::pipeline() {
        return st;
    }
    // SAFETY: forwarded contract.
    unsafe { watch_slow(plan, buf, staged, count, dt, status) }
}

#[cold]
unsafe fn watch_slow(plan: &mut Plan, buf: *const c_void, staged: *mut c_void, count: i64, dt: Handle, status: Option<*mut c_void>) -> *mut c_void {
    let st = status.unwrap_or(std::ptr::null_mut());
    let dest = if ve::is_ve(buf) { Dest::Ve(buf as usize) } else { Dest::Host };
    // SAFETY: forwarded contract.
    let Some(w) = (unsafe { watch_for(dest, staged, count, dt) }) else { return st };
    // Boxed before the status pointer is taken: the box does not move with the plan.
    let mut b = Box::new(State::Watch(w));
    let mut ret = st;
    if let (State::Watch(w), Some(s)) = (&mut *b, status) {
        let s = if crate::real::abi().is_status_ignore(s) { w.own.as_mut_ptr() } else { s };
        w.status = Some(s);
        ret = s;
    }
    plan.pipe = Some(b);
    ret
}

/// [`Plan::store`] hook: the watched receive completed with `status` (None: the blocking receive's).
/// Returns Ok(true) when the plan's own stores must be skipped (the data went to its destination).
///
/// # Safety
/// `status` is NULL or a status of the real MPI for this receive; the buffers are allocated.
pub unsafe fn complete(state: &mut State, status: Option<*const c_void>) -> Result<bool> {
    let State::Watch(w) = state else { return Ok(false) };
    let st = match status.or(w.status.map(|s| s as *const c_void)) {
        Some(s) if !s.is_null() && !crate::real::abi().is_status_ignore(s) => s as *mut c_void,
        _ => return Ok(false),
    };
    w.total = None; // a new message (persistent receives complete many)
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { header_in(w, st) }) else { return Ok(false) };
    // SAFETY: forwarded contract.
    unsafe { receive_chunks(w, &h) }?;
    w.total = Some(h.total);
    // SAFETY: st is a status of the real MPI.
    unsafe { PMPI_Status_set_elements_x(st, crate::real::abi().h.byte, h.total as i64) };
    PIPELINED.fetch_add(1, Ordering::Relaxed);
    // A VE buffer of a non-contiguous type was unpacked into its staging: the plan stores it.
    Ok(!matches!(w.dest, Dest::Ve(_)) || linear(&w.t))
}

/// The completion of a receive whose data was stored already is reported again
/// (MPI_Request_get_status, then Wait): a pipelined message's status gets its size again.
///
/// # Safety
/// `status` is a status of the real MPI for this receive.
pub unsafe fn report_again(state: &mut State, status: *const c_void) {
    if let State::Watch(Watch { total: Some(total), .. }) = state {
        if !crate::real::abi().is_status_ignore(status) {
            // SAFETY: forwarded contract.
            unsafe { PMPI_Status_set_elements_x(status as *mut c_void, crate::real::abi().h.byte, *total as i64) };
        }
    }
}

/// The header the receive brought, if it brought one.
unsafe fn header_in(w: &Watch, st: *const c_void) -> Option<Header> {
    let abi = crate::real::abi();
    let mut n: i64 = 0;
    // SAFETY: st is a status of the real MPI.
    if unsafe { PMPI_Get_elements_x(st, abi.h.byte, &mut n) } != 0 || n != HEADER_LEN as i64 {
        return None;
    }
    let mut h = Header::default();
    let hb = &mut h as *mut Header as *mut u8;
    if linear(&w.t) {
        // SAFETY: the buffer holds at least MIN_THRESHOLD bytes from its start (true_lb 0).
        unsafe { std::ptr::copy_nonoverlapping(w.ptr, hb, HEADER_LEN) };
    } else {
        // The header's bytes were laid out by the datatype: gather the first elements back.
        let k = ((HEADER_LEN as i64 + w.t.size - 1) / w.t.size).min(w.count);
        let tmp = PoolBuf::get((k * w.t.size) as usize).ok()?;
        // SAFETY: forwarded contract; tmp holds k elements' bytes.
        if unsafe { self_copy(w.ptr as *const c_void, k, w.dt, tmp.as_ptr().cast(), k * w.t.size, abi.h.byte) } != 0 {
            return None;
        }
        // SAFETY: tmp holds at least HEADER_LEN bytes.
        unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), hb, HEADER_LEN) };
    }
    h.valid().then_some(h)
}

/// Moves `scount` elements of `stype` at `s` to `rcount` elements of `rtype` at `r` through MPI
/// (a message to this process on the private MPI_COMM_SELF): MPI lays out the bytes.
pub(crate) unsafe fn self_copy(s: *const c_void, scount: i64, stype: Handle, r: *mut c_void, rcount: i64, rtype: Handle) -> c_int {
    let me = PRIV_SELF.load(Ordering::Relaxed) as Handle;
    let tag = (SELF_TAG.fetch_add(1, Ordering::Relaxed) % 32768) as c_int; // threads do not cross-match
    let mut st = StatusBuf::new();
    let (Ok(sc), Ok(rc)) = (c_int::try_from(scount), c_int::try_from(rcount)) else { return -1 };
    // SAFETY: forwarded contract.
    unsafe { PMPI_Sendrecv(s, sc, stype, 0, tag, r, rc, rtype, 0, tag, me, st.as_mut_ptr()) }
}

/// Waits, driving MPI and letting the copy thread run, until `done()`.
pub(crate) fn spin(mut done: impl FnMut() -> bool) {
    let mut i = 0u32;
    while !done() {
        i = i.wrapping_add(1);
        if i.is_multiple_of(64) {
            requests::progress_orphans(false);
        }
        std::thread::yield_now();
    }
}

/// Receives the chunks that header `h` announces into the watched receive's buffer.
unsafe fn receive_chunks(w: &mut Watch, h: &Header) -> Result<()> {
    let abi = crate::real::abi();
    let capacity = (w.t.size as u64).saturating_mul(w.count as u64);
    let total = h.total;
    let chunk = h.chunk;
    if total > capacity {
        // Drain the chunks so the sender finishes, and report what MPI would have.
        // SAFETY: scratch receives.
        unsafe { drain(h) }?;
        return Err(Error::new(
            Class::Truncate,
            format!("message truncated: a pipelined message of {total} bytes arrived for a receive buffer of {capacity} bytes"),
        ));
    }
    let n = total.div_ceil(chunk);
    let len_of = |k: u64| chunk.min(total - k * chunk);
    match (w.dest, linear(&w.t)) {
        (Dest::Host, true) => {
            // Straight into the application's buffer.
            let mut k = 0;
            while k < n {
                let m = (n - k).min(BATCH as u64) as usize;
                let mut reqs = [0u64; BATCH];
                for (i, r) in reqs.iter_mut().enumerate().take(m) {
                    let kk = k + i as u64;
                    // SAFETY: the chunk lies inside the application's buffer (total <= capacity).
                    unsafe { irecv_chunk(w.ptr.add((kk * chunk) as usize), len_of(kk), h, r) }?;
                }
                // SAFETY: the requests were posted above.
                unsafe { wait_all(&mut reqs[..m]) }?;
                k += m as u64;
            }
            Ok(())
        }
        (Dest::Ve(ve), true) => {
            // A ring of chunk buffers: chunk k goes to VE memory while chunk k+1 arrives.
            // SAFETY: forwarded contract.
            unsafe { ring_to_ve(ve, n, chunk, total, h) }
        }
        (_, false) => {
            // The stream into one buffer, then laid out by the receive datatype.
            let tmp = PoolBuf::get(total as usize)?;
            let mut k = 0;
            while k < n {
                let m = (n - k).min(BATCH as u64) as usize;
                let mut reqs = [0u64; BATCH];
                for (i, r) in reqs.iter_mut().enumerate().take(m) {
                    let kk = k + i as u64;
                    // SAFETY: tmp holds total bytes.
                    unsafe { irecv_chunk(tmp.as_ptr().add((kk * chunk) as usize), len_of(kk), h, r) }?;
                }
                // SAFETY: the requests were posted above.
                unsafe { wait_all(&mut reqs[..m]) }?;
                k += m as u64;
            }
            // SAFETY: tmp holds total bytes; the receive buffer holds count elements.
            let rc = unsafe { self_copy(tmp.as_ptr().cast(), total as i64, abi.h.byte, w.ptr.cast(), w.count, w.dt) };
            if rc != 0 {
                return Err(Error::new(Class::Intern, format!("cannot lay out a pipelined message by the receive datatype (error {rc})")));
            }
            Ok(())
        }
    }
}

unsafe fn irecv_chunk(p: *mut u8, len: u64, h: &Header, req: &mut u64) -> Result<()> {
    let abi = crate::real::abi();
    // SAFETY: p is valid for len bytes (caller); the private communicator exists.
    let rc = unsafe { PMPI_Irecv(p.cast(), len as c_int, abi.h.byte, h.src, h.xtag, priv_world(), hp(req)) };
    if rc != 0 {
        return Err(Error::new(Class::Intern, format!("cannot receive a chunk of a pipelined message (error {rc})")));
    }
    Ok(())
}

/// Waits for chunk receives, testing them in turn so the copy thread and other work can run.
unsafe fn wait_all(reqs: &mut [u64]) -> Result<()> {
    for r in reqs.iter_mut() {
        // SAFETY: a request posted by the caller.
        unsafe { wait_one(r) }?;
    }
    Ok(())
}

pub(crate) unsafe fn wait_one(r: &mut u64) -> Result<()> {
    let mut flag: c_int = 0;
    let mut rc = 0;
    spin(|| {
        let mut st = StatusBuf::new();
        // SAFETY: a live request of the real MPI.
        rc = unsafe { PMPI_Test(hp(r), &mut flag, st.as_mut_ptr()) };
        rc != 0 || flag != 0
    });
    if rc != 0 {
        return Err(Error::new(Class::Intern, format!("a chunk of a pipelined message failed (error {rc})")));
    }
    Ok(())
}

/// Receives and discards the chunks of a message that does not fit.
unsafe fn drain(h: &Header) -> Result<()> {
    let c = h.chunk.min(h.total.max(1));
    let scratch = PoolBuf::get(c as usize)?;
    let n = h.total.div_ceil(h.chunk);
    for k in 0..n {
        let mut r = 0u64;
        // SAFETY: scratch holds a chunk.
        unsafe {
            irecv_chunk(scratch.as_ptr(), h.chunk.min(h.total - k * h.chunk), h, &mut r)?;
            wait_one(&mut r)?;
        }
    }
    Ok(())
}

/// Chunks to VE memory through a ring of [`RING`] buffers and the copy engine.
unsafe fn ring_to_ve(ve: usize, n: u64, chunk: u64, total: u64, h: &Header) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Free,
        Receiving(u64),
        Writing(u64),
    }
    let len_of = |k: u64| chunk.min(total - k * chunk);
    let slots = RING.min(n as usize);
    let mut bufs: [Option<PoolBuf>; RING] = Default::default();
    for b in bufs.iter_mut().take(slots) {
        *b = Some(PoolBuf::get(chunk as usize)?);
    }
    let copies: [Slot; RING] = Default::default();
    let mut reqs = [0u64; RING];
    let mut state = [S::Free; RING];
    let (mut next_recv, mut next_write, mut written) = (0u64, 0u64, 0u64);
    let mut failed: Option<Error> = None;
    let buf_of = |i: usize, b: &[Option<PoolBuf>; RING]| b[i].as_ref().map(|p| p.as_ptr()).unwrap_or(std::ptr::null_mut());
    while written < n {
        let mut moved = false;
        for i in 0..slots {
            match state[i] {
                S::Free if next_recv < n && failed.is_none() => {
                    // SAFETY: the slot's buffer holds a chunk.
                    if let Err(e) = unsafe { irecv_chunk(buf_of(i, &bufs), len_of(next_recv), h, &mut reqs[i]) } {
                        failed = Some(e);
                        continue;
                    }
                    state[i] = S::Receiving(next_recv);
                    next_recv += 1;
                    moved = true;
                }
                // Chunks arrive in order; hand them to the copy engine in order.
                S::Receiving(k) if k == next_write => {
                    let mut flag: c_int = 0;
                    let mut st = StatusBuf::new();
                    // SAFETY: a live request of the real MPI.
                    let rc = unsafe { PMPI_Test(hp(&mut reqs[i]), &mut flag, st.as_mut_ptr()) };
                    if rc != 0 {
                        failed.get_or_insert(Error::new(Class::Intern, format!("a chunk of a pipelined message failed (error {rc})")));
                        state[i] = S::Free;
                        written += 1;
                        next_write += 1;
                        continue;
                    }
                    if flag != 0 {
                        let dst = ve + (k * chunk) as usize;
                        // SAFETY: the slot's buffer and copy slot stay until the copy reports (the
                        // loop does not end before every slot is Free).
                        unsafe {
                            if !dma::submit(false, dst, buf_of(i, &bufs), len_of(k) as usize, &copies[i]) {
                                dma::copy_now(false, dst, buf_of(i, &bufs), len_of(k) as usize, &copies[i]);
                            }
                        }
                        state[i] = S::Writing(k);
                        next_write += 1;
                        moved = true;
                    }
                }
                S::Writing(k) if copies[i].done() => {
                    if !copies[i].ok() {
                        failed.get_or_insert(Error::new(
                            Class::Buffer,
                            format!("copy of a {} byte chunk to VE address {:#x} failed: not VE memory of this process", len_of(k), ve + (k * chunk) as usize),
                        ));
                    }
                    state[i] = S::Free;
                    written += 1;
                    moved = true;
                }
                _ => {}
            }
        }
        if failed.is_some() && state.iter().take(slots).all(|s| *s == S::Free) {
            // receive the chunks still coming, so the sender completes
            while next_recv < n {
                let mut r = 0u64;
                // SAFETY: the first buffer holds a chunk.
                unsafe {
                    if irecv_chunk(buf_of(0, &bufs), len_of(next_recv), h, &mut r).is_ok() {
                        let _ = wait_one(&mut r);
                    }
                }
                next_recv += 1;
            }
            break;
        }
        if !moved {
            std::thread::yield_now();
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- sends

thread_local! {
    /// The staging plan of the VE send this thread is in, from the message form to the interposer.
    pub(crate) static SEND_PLAN: Cell<*mut Plan> = const { Cell::new(std::ptr::null_mut()) };
}

/// Message-form hook (`crate::msg::send`): whether this VE send is pipelined. If so, the VE buffer is
/// returned unstaged and the interposer of the real send runs the protocol.
///
/// # Safety
/// The arguments are the application's; `plan` stays where it is until the real call returned.
#[inline]
pub unsafe fn send_form(plan: &mut Plan, buf: *const c_void, count: i64, dt: Handle) -> Option<*const c_void> {
    if !tune::pipeline() {
        return None;
    }
    // SAFETY: forwarded contract.
    unsafe { send_form_slow(plan, buf, count, dt) }
}

#[cold]
unsafe fn send_form_slow(plan: &mut Plan, buf: *const c_void, count: i64, dt: Handle) -> Option<*const c_void> {
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
    SEND_PLAN.with(|c| c.set(plan as *mut Plan));
    Some(buf)
}

/// How the header goes.
#[derive(Clone, Copy)]
enum HeaderSend {
    Blocking(unsafe extern "C" fn(*const c_void, c_int, Handle, c_int, c_int, Handle) -> c_int),
    Nonblocking(unsafe extern "C" fn(*const c_void, c_int, Handle, c_int, c_int, Handle, *mut c_void) -> c_int, *mut c_void),
}

/// A pipelined VE send (the interposer got a VE address from [`send_form`]).
#[allow(clippy::too_many_arguments)]
unsafe fn send_ve(func: &'static str, how: HeaderSend, buf: *const c_void, count: c_int, dt: Handle, dest: c_int, tag: c_int, comm: Handle) -> c_int {
    let plan = SEND_PLAN.with(|c| c.replace(std::ptr::null_mut()));
    if plan.is_null() {
        let e = Error::new(Class::Intern, "a VE buffer reached the pipelined send without its staging plan");
        // SAFETY: the application's communicator.
        return unsafe { crate::errors::raise(Obj::Comm(comm), func, &e) };
    }
    // SAFETY: the plan of the call this thread is in (send_form); it lives until that call returns.
    let plan = unsafe { &mut *plan };
    // SAFETY: forwarded contract.
    match unsafe { send_ve_inner(plan, how, buf, count, dt, dest, tag, comm) } {
        Ok(rc) => rc,
        // SAFETY: the application's communicator.
        Err(e) => unsafe { crate::errors::raise(Obj::Comm(comm), func, &e) },
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn send_ve_inner(plan: &mut Plan, how: HeaderSend, buf: *const c_void, count: c_int, dt: Handle, dest: c_int, tag: c_int, comm: Handle) -> Result<c_int> {
    let abi = crate::real::abi();
    let call = |b: *const c_void, n: c_int, t: Handle| -> c_int {
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
    if let Some(c) = requests::claim(handle_of(&req)) {
        c.free();
    }
    Ok(())
}

// ---------------------------------------------------------------- interposers

/// Installs [`interpose`] in the resolver when the library is loaded, before any MPI call.
#[used]
#[link_section = ".init_array"]
static INSTALL: extern "C" fn() = {
    extern "C" fn install() {
        crate::real::set_interposer(interpose);
    }
    install
};

/// The interposer of a real function, if pipelined mode interposes it (`crate::real::Real`).
pub fn interpose(name: &str) -> Option<*mut c_void> {
    if !tune::pipeline() {
        return None;
    }
    Some(match name {
        "PMPI_Send" => i_send as *mut c_void,
        "PMPI_Ssend" => i_ssend as *mut c_void,
        "PMPI_Rsend" => i_rsend as *mut c_void,
        "PMPI_Isend" => i_isend as *mut c_void,
        "PMPI_Issend" => i_issend as *mut c_void,
        "PMPI_Irsend" => i_irsend as *mut c_void,
        "PMPI_Recv" => i_recv as *mut c_void,
        "PMPI_Mrecv" => i_mrecv as *mut c_void,
        "PMPI_Sendrecv" => i_sendrecv as *mut c_void,
        "PMPI_Sendrecv_replace" => i_sendrecv_replace as *mut c_void,
        "PMPI_Irecv" => i_irecv as *mut c_void,
        "PMPI_Imrecv" => i_imrecv as *mut c_void,
        "PMPI_Recv_init" => i_recv_init as *mut c_void,
        "PMPI_Isendrecv" => i_isendrecv as *mut c_void,
        "PMPI_Isendrecv_replace" => i_isendrecv_replace as *mut c_void,
        // Host receives of the large-count functions must recognise pipelined messages too; they
        // are interposed only where the real MPI has them (a missing one stays missing).
        "PMPI_Recv_c" | "PMPI_Irecv_c" | "PMPI_Recv_init_c" | "PMPI_Mrecv_c" | "PMPI_Imrecv_c" | "PMPI_Sendrecv_c"
        | "PMPI_Isendrecv_c" | "PMPI_Sendrecv_replace_c" | "PMPI_Isendrecv_replace_c"
            if crate::real::mpi().ok()?.sym(name).is_none() =>
        {
            return None
        }
        "PMPI_Recv_c" => i_recv_c as *mut c_void,
        "PMPI_Irecv_c" => i_irecv_c as *mut c_void,
        "PMPI_Recv_init_c" => i_recv_init_c as *mut c_void,
        "PMPI_Mrecv_c" => i_mrecv_c as *mut c_void,
        "PMPI_Imrecv_c" => i_imrecv_c as *mut c_void,
        "PMPI_Sendrecv_c" => i_sendrecv_c as *mut c_void,
        "PMPI_Isendrecv_c" => i_isendrecv_c as *mut c_void,
        "PMPI_Sendrecv_replace_c" => i_sendrecv_replace_c as *mut c_void,
        "PMPI_Isendrecv_replace_c" => i_isendrecv_replace_c as *mut c_void,
        "PMPI_Allreduce" => coll::i_allreduce as *mut c_void,
        "PMPI_Bcast" => coll::i_bcast as *mut c_void,
        _ => return None,
    })
}

type SendFn = unsafe extern "C" fn(*const c_void, c_int, Handle, c_int, c_int, Handle) -> c_int;
type IsendFn = unsafe extern "C" fn(*const c_void, c_int, Handle, c_int, c_int, Handle, *mut c_void) -> c_int;

macro_rules! send_interposer {
    ($i:ident, $real:literal, $func:literal) => {
        unsafe extern "C" fn $i(buf: *const c_void, count: c_int, dt: Handle, dest: c_int, tag: c_int, comm: Handle) -> c_int {
            static REAL: Direct = Direct::new($real);
            // SAFETY: the real function has this signature.
            let f = unsafe { std::mem::transmute::<*mut c_void, SendFn>(REAL.get()) };
            if !ve::is_ve(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, dest, tag, comm) };
            }
            // SAFETY: the VE buffer comes from send_form, within the staged call.
            unsafe { send_ve($func, HeaderSend::Blocking(f), buf, count, dt, dest, tag, comm) }
        }
    };
}

macro_rules! isend_interposer {
    ($i:ident, $real:literal, $func:literal) => {
        unsafe extern "C" fn $i(buf: *const c_void, count: c_int, dt: Handle, dest: c_int, tag: c_int, comm: Handle, req: *mut c_void) -> c_int {
            static REAL: Direct = Direct::new($real);
            // SAFETY: the real function has this signature.
            let f = unsafe { std::mem::transmute::<*mut c_void, IsendFn>(REAL.get()) };
            if !ve::is_ve(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, dest, tag, comm, req) };
            }
            // SAFETY: the VE buffer comes from send_form, within the staged call.
            unsafe { send_ve($func, HeaderSend::Nonblocking(f, req), buf, count, dt, dest, tag, comm) }
        }
    };
}

send_interposer!(i_send, "PMPI_Send", "MPI_Send");
send_interposer!(i_ssend, "PMPI_Ssend", "MPI_Ssend");
send_interposer!(i_rsend, "PMPI_Rsend", "MPI_Rsend");
isend_interposer!(i_isend, "PMPI_Isend", "MPI_Isend");
isend_interposer!(i_issend, "PMPI_Issend", "MPI_Issend");
isend_interposer!(i_irsend, "PMPI_Irsend", "MPI_Irsend");

/// A host receive of the fast path (not inside a staged call) that may bring a pipelined message.
#[inline]
unsafe fn host_watch(buf: *mut c_void, count: i64, dt: Handle) -> Option<Watch> {
    if !active() || ve::is_ve(buf) || crate::stage::reentered() {
        return None;
    }
    // SAFETY: the application's arguments.
    unsafe { watch_for(Dest::Host, buf, count, dt) }
}

/// A blocking host receive: the real call with a status to read, then the protocol.
unsafe fn host_blocking(func: &'static str, mut w: Watch, comm: Option<Handle>, status: *mut c_void, call: impl FnOnce(*mut c_void) -> c_int) -> c_int {
    let st = if crate::real::abi().is_status_ignore(status) { w.own.as_mut_ptr() } else { status };
    let rc = call(st);
    if rc != 0 {
        return rc;
    }
    let _inside = crate::stage::Inside::enter();
    let mut s = State::Watch(w);
    // SAFETY: st is the status the real receive filled.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { complete(&mut s, Some(st)) }));
    let obj = comm.map_or(Obj::World, Obj::Comm);
    crate::errors::finish(obj, func, r.map(|r| r.map(|_| 0)))
}

/// A nonblocking host receive: tracked so that its completion call runs the protocol.
unsafe fn host_nonblocking(func: &'static str, w: Watch, kind: Kind, comm: Option<Handle>, req: *mut c_void, call: impl FnOnce() -> c_int) -> c_int {
    let rc = call();
    if rc == 0 && !req.is_null() {
        let mut plan = Plan::new(func);
        plan.pipe = Some(Box::new(State::Watch(w)));
        // SAFETY: the real call stored its request in *req.
        unsafe { requests::track(req, plan, kind, comm.map_or(Obj::World, Obj::Comm)) };
    }
    rc
}

// The receive interposers, one macro per argument shape, instantiated for the `int` functions and
// their MPI-4 large-count twins (mpi4py calls the `_c` ones whenever the MPI has them).

/// Recv and Recv_init-like shapes: (buf, count, type, source, tag, comm, last) with `last` the status
/// (blocking) or the request (nonblocking, `kind`).
macro_rules! recv_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, blocking) => {
        unsafe extern "C" fn $i(buf: *mut c_void, count: $C, dt: Handle, src: c_int, tag: c_int, comm: Handle, status: *mut c_void) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Handle, c_int, c_int, Handle, *mut c_void) -> c_int;
            static REAL: Direct = Direct::new($real);
            // SAFETY: the real function has this signature; the application's arguments.
            unsafe {
                let f = std::mem::transmute::<*mut c_void, F>(REAL.get());
                match host_watch(buf, i64::from(count), dt) {
                    None => f(buf, count, dt, src, tag, comm, status),
                    Some(w) => host_blocking($func, w, Some(comm), status, |st| f(buf, count, dt, src, tag, comm, st)),
                }
            }
        }
    };
    ($i:ident, $real:literal, $func:literal, $C:ty, $kind:expr) => {
        unsafe extern "C" fn $i(buf: *mut c_void, count: $C, dt: Handle, src: c_int, tag: c_int, comm: Handle, req: *mut c_void) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Handle, c_int, c_int, Handle, *mut c_void) -> c_int;
            static REAL: Direct = Direct::new($real);
            // SAFETY: as above.
            unsafe {
                let f = std::mem::transmute::<*mut c_void, F>(REAL.get());
                match host_watch(buf, i64::from(count), dt) {
                    None => f(buf, count, dt, src, tag, comm, req),
                    Some(w) => host_nonblocking($func, w, $kind, Some(comm), req, || f(buf, count, dt, src, tag, comm, req)),
                }
            }
        }
    };
}

/// Mrecv and Imrecv: (buf, count, type, message, last).
macro_rules! mrecv_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, $blocking:literal) => {
        unsafe extern "C" fn $i(buf: *mut c_void, count: $C, dt: Handle, msg: *mut c_void, last: *mut c_void) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Handle, *mut c_void, *mut c_void) -> c_int;
            static REAL: Direct = Direct::new($real);
            // SAFETY: as in recv_like.
            unsafe {
                let f = std::mem::transmute::<*mut c_void, F>(REAL.get());
                match host_watch(buf, i64::from(count), dt) {
                    None => f(buf, count, dt, msg, last),
                    Some(w) if $blocking => host_blocking($func, w, None, last, |st| f(buf, count, dt, msg, st)),
                    Some(w) => host_nonblocking($func, w, Kind::Once, None, last, || f(buf, count, dt, msg, last)),
                }
            }
        }
    };
}

/// Sendrecv and Isendrecv: the receive half may bring a pipelined message.
macro_rules! sendrecv_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, $blocking:literal) => {
        #[allow(clippy::too_many_arguments)]
        unsafe extern "C" fn $i(
            sbuf: *const c_void,
            scount: $C,
            stype: Handle,
            dest: c_int,
            stag: c_int,
            rbuf: *mut c_void,
            rcount: $C,
            rtype: Handle,
            src: c_int,
            rtag: c_int,
            comm: Handle,
            last: *mut c_void,
        ) -> c_int {
            type F = unsafe extern "C" fn(*const c_void, $C, Handle, c_int, c_int, *mut c_void, $C, Handle, c_int, c_int, Handle, *mut c_void) -> c_int;
            static REAL: Direct = Direct::new($real);
            // SAFETY: as in recv_like (for the nonblocking form the request takes the status's place).
            unsafe {
                let f = std::mem::transmute::<*mut c_void, F>(REAL.get());
                match host_watch(rbuf, i64::from(rcount), rtype) {
                    None => f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, last),
                    Some(w) if $blocking => host_blocking($func, w, Some(comm), last, |st| {
                        f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, st)
                    }),
                    Some(w) => host_nonblocking($func, w, Kind::Once, Some(comm), last, || {
                        f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, last)
                    }),
                }
            }
        }
    };
}

/// Sendrecv_replace and Isendrecv_replace.
macro_rules! replace_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, $blocking:literal) => {
        #[allow(clippy::too_many_arguments)]
        unsafe extern "C" fn $i(
            buf: *mut c_void,
            count: $C,
            dt: Handle,
            dest: c_int,
            stag: c_int,
            src: c_int,
            rtag: c_int,
            comm: Handle,
            last: *mut c_void,
        ) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Handle, c_int, c_int, c_int, c_int, Handle, *mut c_void) -> c_int;
            static REAL: Direct = Direct::new($real);
            // SAFETY: as in recv_like.
            unsafe {
                let f = std::mem::transmute::<*mut c_void, F>(REAL.get());
                match host_watch(buf, i64::from(count), dt) {
                    None => f(buf, count, dt, dest, stag, src, rtag, comm, last),
                    Some(w) if $blocking => host_blocking($func, w, Some(comm), last, |st| f(buf, count, dt, dest, stag, src, rtag, comm, st)),
                    Some(w) => host_nonblocking($func, w, Kind::Once, Some(comm), last, || f(buf, count, dt, dest, stag, src, rtag, comm, last)),
                }
            }
        }
    };
}

recv_like!(i_recv, "PMPI_Recv", "MPI_Recv", c_int, blocking);
recv_like!(i_recv_c, "PMPI_Recv_c", "MPI_Recv_c", Count, blocking);
recv_like!(i_irecv, "PMPI_Irecv", "MPI_Irecv", c_int, Kind::Once);
recv_like!(i_irecv_c, "PMPI_Irecv_c", "MPI_Irecv_c", Count, Kind::Once);
recv_like!(i_recv_init, "PMPI_Recv_init", "MPI_Recv_init", c_int, Kind::Persistent { active: false });
recv_like!(i_recv_init_c, "PMPI_Recv_init_c", "MPI_Recv_init_c", Count, Kind::Persistent { active: false });
mrecv_like!(i_mrecv, "PMPI_Mrecv", "MPI_Mrecv", c_int, true);
mrecv_like!(i_mrecv_c, "PMPI_Mrecv_c", "MPI_Mrecv_c", Count, true);
mrecv_like!(i_imrecv, "PMPI_Imrecv", "MPI_Imrecv", c_int, false);
mrecv_like!(i_imrecv_c, "PMPI_Imrecv_c", "MPI_Imrecv_c", Count, false);
sendrecv_like!(i_sendrecv, "PMPI_Sendrecv", "MPI_Sendrecv", c_int, true);
sendrecv_like!(i_sendrecv_c, "PMPI_Sendrecv_c", "MPI_Sendrecv_c", Count, true);
sendrecv_like!(i_isendrecv, "PMPI_Isendrecv", "MPI_Isendrecv", c_int, false);
sendrecv_like!(i_isendrecv_c, "PMPI_Isendrecv_c", "MPI_Isendrecv_c", Count, false);
replace_like!(i_sendrecv_replace, "PMPI_Sendrecv_replace", "MPI_Sendrecv_replace", c_int, true);
replace_like!(i_sendrecv_replace_c, "PMPI_Sendrecv_replace_c", "MPI_Sendrecv_replace_c", Count, true);
replace_like!(i_isendrecv_replace, "PMPI_Isendrecv_replace", "MPI_Isendrecv_replace", c_int, false);
replace_like!(i_isendrecv_replace_c, "PMPI_Isendrecv_replace_c", "MPI_Isendrecv_replace_c", Count, false);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let mut h = Header { magic: MAGIC, version: VERSION, xtag: 7, src: 3, chunk: 1 << 20, total: 16 << 20, ..Default::default() };
        assert!(!h.valid(), "no check word yet");
        h.check = h.check_word();
        assert!(h.valid());
        let mut g = h;
        g.total += 1;
        assert!(!g.valid(), "the check word covers the size");
        let mut g = h;
        g.magic[15] ^= 1;
        assert!(!g.valid());
    }

    #[test]
    fn linear_types() {
        let t = |size, extent, lb, textent, named| TypeInfo { size, extent, true_lb: lb, true_extent: textent, named };
        assert!(linear(&t(8, 8, 0, 8, true)), "MPI_DOUBLE");
        assert!(!linear(&t(12, 16, 0, 12, true)), "MPI_DOUBLE_INT has a hole");
        assert!(!linear(&t(8, 8, 0, 8, false)), "derived types take the general way");
    }
}

mod coll;
pub use coll::{allreduce_form, bcast_form};
