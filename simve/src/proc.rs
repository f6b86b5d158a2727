//! VE processes: up to 16 per host process, identified by the 4-bit number that HMEM addresses carry.

use crate::link::Link;
use crate::mem::Region;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Number of process identifiers an HMEM address can name (bits 62..59).
pub const MAX_PROCS: usize = 16;
/// Number of VE nodes the simulated host has (`SIMVE_NODES`, default 8, like a fully populated A500).
fn node_count() -> c_int {
    std::env::var("SIMVE_NODES").ok().and_then(|s| s.parse().ok()).unwrap_or(8)
}

/// The C handle (`struct veo_proc_handle`). Handles are never freed, so a stale handle used after
/// `veo_proc_destroy` is reported as invalid instead of reading freed memory.
#[repr(C)]
pub struct ProcHandle {
    id: u8,
    serial: u64,
}

/// A VE process: its memory (allocations by VE virtual address) and its link to the host.
pub struct VeProc {
    pub id: u8,
    serial: u64,
    pub regions: RwLock<BTreeMap<u64, Region>>,
    next_addr: AtomicU64,
    pub link: Link,
    /// The C handle `veo_proc_create` returned (`veo_get_proc_handle_from_hmem` gives it back).
    handle: AtomicUsize,
}

/// First VE virtual address handed out (the VE heap lives around here on the real machine).
const VEMVA_BASE: u64 = 0x6000_0000_0000;
/// Unmapped gap after each allocation so that an overrun lands in no allocation.
const GUARD: u64 = 1 << 16;

static PROCS: RwLock<[Option<Arc<VeProc>>; MAX_PROCS]> = parking_lot::const_rwlock([const { None }; MAX_PROCS]);
static SERIAL: AtomicU64 = AtomicU64::new(1);

pub fn create(venode: c_int) -> *mut ProcHandle {
    create_with_link(venode, Link::new())
}

/// [`create`] with a given link model (tests).
pub(crate) fn create_with_link(venode: c_int, link: Link) -> *mut ProcHandle {
    if venode < 0 || venode >= node_count() {
        return std::ptr::null_mut();
    }
    let mut procs = PROCS.write();
    let Some(slot) = procs.iter().position(|p| p.is_none()) else {
        return std::ptr::null_mut();
    };
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let h = Box::into_raw(Box::new(ProcHandle { id: slot as u8, serial }));
    procs[slot] = Some(Arc::new(VeProc {
        id: slot as u8,
        serial,
        regions: RwLock::new(BTreeMap::new()),
        next_addr: AtomicU64::new(VEMVA_BASE),
        link,
        handle: AtomicUsize::new(h as usize),
    }));
    h
}

/// The handle of the live process with identifier `id` (`veo_get_proc_handle_from_hmem`); NULL if none.
pub fn handle_of(id: u8) -> *mut ProcHandle {
    with_id(id, |p| p.handle.load(Ordering::Relaxed) as *mut ProcHandle).unwrap_or(std::ptr::null_mut())
}

/// The live process a handle names, if any.
///
/// # Safety
/// `h` is NULL or a pointer returned by [`create`].
pub unsafe fn from_handle(h: *const ProcHandle) -> Option<Arc<VeProc>> {
    // SAFETY: handles are leaked boxes that are never freed (see ProcHandle).
    let h = unsafe { h.as_ref() }?;
    by_id(h.id).filter(|p| p.serial == h.serial)
}

/// The live process with identifier `id`.
pub fn by_id(id: u8) -> Option<Arc<VeProc>> {
    PROCS.read().get(id as usize).and_then(|p| p.clone())
}

/// Runs `f` on the live process with identifier `id` (the copy path: no reference count is taken;
/// the process table stays read-locked meanwhile, which only holds off creating and destroying
/// processes).
#[inline]
pub fn with_id<R>(id: u8, f: impl FnOnce(&VeProc) -> R) -> Option<R> {
    let procs = PROCS.read();
    procs.get(id as usize)?.as_deref().map(f)
}

pub unsafe fn destroy(h: *mut ProcHandle) -> c_int {
    // SAFETY: forwarded contract of veo_proc_destroy.
    let Some(p) = (unsafe { from_handle(h) }) else { return -1 };
    PROCS.write()[p.id as usize] = None;
    // Free the memory now; copies in flight hold their own Arc and a read lock on the regions.
    p.regions.write().clear();
    0
}

pub unsafe fn identifier(h: *mut ProcHandle) -> c_int {
    // SAFETY: forwarded contract of veo_proc_identifier.
    match unsafe { from_handle(h) } {
        Some(p) => p.id as c_int,
        None => -1,
    }
}

impl VeProc {
    /// Reserves `size` bytes of VE virtual address space, followed by an unmapped guard gap.
    pub fn reserve(&self, size: u64) -> Option<u64> {
        let step = size.checked_add(4095)? & !4095;
        let addr = self.next_addr.fetch_add(step + GUARD, Ordering::Relaxed);
        (addr + step + GUARD < 1 << crate::mem::HMEM_PID_SHIFT).then_some(addr)
    }
}
