//! The protocol's private communicators and rank maps.
//!
//! Chunks travel on a duplicate of MPI_COMM_WORLD (made in MPI_Init: duplicating is collective, so it
//! cannot wait for the first transfer) with tags of their own, so they never match the application's
//! receives; non-contiguous layouts go through a duplicate of MPI_COMM_SELF. A destination's rank on
//! the private world is translated once per communicator and cached in an attribute of it.

use crate::real::pmpi::direct::PMPI_Sendrecv;
use crate::real::pmpi::{
    PMPI_Comm_create_keyval, PMPI_Comm_dup, PMPI_Comm_free, PMPI_Comm_free_keyval, PMPI_Comm_get_attr, PMPI_Comm_group,
    PMPI_Comm_remote_group, PMPI_Comm_set_attr, PMPI_Comm_test_inter, PMPI_Group_free, PMPI_Group_size, PMPI_Group_translate_ranks,
};
use crate::abi::{Comm, Datatype, Group, Handle, StatusBuf};
use crate::errors::Obj;
use crate::tune;
use parking_lot::Mutex;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// A handle read from the variable an MPI call wrote (a u64 holds a handle of either ABI).
pub(super) fn handle_of(h: &u64) -> Handle {
    // SAFETY: h is a valid u64, large enough for a handle of either ABI (little-endian).
    unsafe { crate::real::abi().handle_at(h as *const u64 as *const c_void, 0) }
}

pub(super) fn hp(h: &mut u64) -> *mut c_void {
    h as *mut u64 as *mut c_void
}

struct Comms {
    /// Duplicate of MPI_COMM_WORLD for the chunks.
    world: Comm,
    world_group: Group,
    /// Duplicate of MPI_COMM_SELF for local unpacking.
    me: Comm,
    /// Attribute of user communicators: their ranks on `world` (a leaked `Box<[c_int]>`).
    keyval: c_int,
}

static COMMS: Mutex<Option<Comms>> = Mutex::new(None);
/// Set while the private communicators exist (between MPI_Init and MPI_Finalize in pipelined mode).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PRIV_WORLD: AtomicU64 = AtomicU64::new(0);
static PRIV_SELF: AtomicU64 = AtomicU64::new(0);
static KEYVAL: AtomicU32 = AtomicU32::new(0);
static SELF_TAG: AtomicU32 = AtomicU32::new(0);
static MAP_LOCK: Mutex<()> = Mutex::new(());

/// Whether the protocol can run now.
#[inline]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

/// Attribute delete callback of the rank map: frees it (inside the C boundary; a panic is reported and
/// the map leaked rather than failing the application's MPI_Comm_free).
extern "C" fn map_delete(_comm: Comm, _key: c_int, val: *mut c_void, _extra: *mut c_void) -> c_int {
    crate::ffi::boundary_or("the pipelined protocol's rank map delete callback", 0, || {
        if !val.is_null() {
            // SAFETY: the value was set by world_rank from a leaked Box<Vec<c_int>>, and MPI deletes it once.
            unsafe { drop(Box::from_raw(val as *mut Vec<c_int>)) };
        }
        0
    })
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
            && PMPI_Comm_group(Comm::from_raw(handle_of(&w)), hp(&mut g)) == 0
            && PMPI_Comm_create_keyval(crate::ffi::attr_not_inherited::<Comm> as *const c_void, map_delete as *const c_void, &mut key, std::ptr::null_mut()) == 0
    };
    if !ok {
        log::warn!("MPIVE_PIPELINE=1: cannot create the private communicators; messages are not pipelined");
        return;
    }
    let c = Comms { world: Comm::from_raw(handle_of(&w)), world_group: Group::from_raw(handle_of(&g)), me: Comm::from_raw(handle_of(&s)), keyval: key };
    PRIV_WORLD.store(c.world.raw() as u64, Ordering::Relaxed);
    PRIV_SELF.store(c.me.raw() as u64, Ordering::Relaxed);
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
    crate::ffi::boundary(Obj::World, "MPI_Finalize", || {
        let Some(mut c) = COMMS.lock().take() else { return Ok(0) };
        let mut w = c.world.raw() as u64;
        let mut s = c.me.raw() as u64;
        let mut g = c.world_group.raw() as u64;
        // SAFETY: the shim's own objects, no longer used by anyone (no pipelined operation is pending).
        unsafe {
            PMPI_Comm_free(hp(&mut w));
            PMPI_Comm_free(hp(&mut s));
            PMPI_Group_free(hp(&mut g));
            PMPI_Comm_free_keyval(&mut c.keyval);
        }
        Ok(0)
    });
}

pub(super) fn priv_world() -> Comm {
    Comm::from_raw(PRIV_WORLD.load(Ordering::Relaxed) as Handle)
}

/// The rank on the private communicator of `rank` of `comm` (of its remote group for an
/// intercommunicator), or None if it has none (a process outside MPI_COMM_WORLD).
pub(super) unsafe fn world_rank(comm: Comm, rank: c_int) -> Option<c_int> {
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
unsafe fn build_map(comm: Comm, key: c_int) -> Option<*const Vec<c_int>> {
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
        PMPI_Group_size(Group::from_raw(handle_of(&g)), &mut n);
        let ranks: Vec<c_int> = (0..n.max(0)).collect();
        let mut out = vec![abi.undefined; n.max(0) as usize];
        let rc = PMPI_Group_translate_ranks(Group::from_raw(handle_of(&g)), n, ranks.as_ptr(), wg, out.as_mut_ptr());
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

/// After a successful MPI_Init or MPI_Init_thread: in pipelined mode, creates the private
/// communicators (duplicating is collective, so it is done where every rank is).
pub fn after_init() {
    if tune::pipeline() {
        crate::ffi::boundary(Obj::World, "MPI_Init", || {
            // SAFETY: MPI is initialized.
            unsafe { init_comms() };
            Ok(0)
        });
    }
}

/// Moves `scount` elements of `stype` at `s` to `rcount` elements of `rtype` at `r` through MPI
/// (a message to this process on the private MPI_COMM_SELF): MPI lays out the bytes.
pub(super) unsafe fn self_copy(s: *const c_void, scount: i64, stype: Datatype, r: *mut c_void, rcount: i64, rtype: Datatype) -> c_int {
    let me = Comm::from_raw(PRIV_SELF.load(Ordering::Relaxed) as Handle);
    let tag = (SELF_TAG.fetch_add(1, Ordering::Relaxed) % 32768) as c_int; // threads do not cross-match
    let mut st = StatusBuf::new();
    let (Ok(sc), Ok(rc)) = (c_int::try_from(scount), c_int::try_from(rcount)) else { return -1 };
    // SAFETY: forwarded contract.
    unsafe { PMPI_Sendrecv(s, sc, stype, 0, tag, r, rc, rtype, 0, tag, me, st.as_mut_ptr()) }
}
