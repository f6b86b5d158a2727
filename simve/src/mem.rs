//! VE memory: allocations, the HMEM address convention and checked copies.

use crate::proc::{self, ProcHandle, VeProc};
use std::alloc::Layout;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// Bit 63 marks a VE address.
pub const HMEM_VE_BIT: u64 = 1 << 63;
/// Bits 62..59 carry the VE process identifier.
pub const HMEM_PID_SHIFT: u32 = 59;
pub const HMEM_PID_MASK: u64 = 0xF << HMEM_PID_SHIFT;
const ALIGN: usize = 64;

/// One allocation of VE memory, backed by host memory the host can never reach through the HMEM
/// address (that address is non-canonical).
pub struct Region {
    size: usize,
    mem: *mut u8,
}
// SAFETY: the region owns its memory; concurrent access is coordinated by the regions RwLock
// (allocation and free take it for writing, copies for reading).
unsafe impl Send for Region {}
// SAFETY: a shared Region only yields its size and pointer; copies through the pointer run under
// the regions lock (read), like Send above, and the memory is freed only with the lock held for writing.
unsafe impl Sync for Region {}

impl Region {
    fn new(size: usize) -> Option<Region> {
        let layout = Layout::from_size_align(size.max(1), ALIGN).ok()?;
        // SAFETY: layout has non-zero size.
        let mem = unsafe { std::alloc::alloc_zeroed(layout) };
        (!mem.is_null()).then_some(Region { size, mem })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in Region::new with this layout.
        unsafe { std::alloc::dealloc(self.mem, Layout::from_size_align_unchecked(self.size.max(1), ALIGN)) }
    }
}

pub fn is_ve_addr(addr: u64) -> bool {
    addr & HMEM_VE_BIT != 0
}

pub fn hmem_addr(addr: u64) -> u64 {
    addr & !(HMEM_VE_BIT | HMEM_PID_MASK)
}

fn pid_of(addr: u64) -> u8 {
    ((addr & HMEM_PID_MASK) >> HMEM_PID_SHIFT) as u8
}

fn tag(p: &VeProc, vemva: u64) -> u64 {
    HMEM_VE_BIT | (p.id as u64) << HMEM_PID_SHIFT | vemva
}

/// Runs `f` on the host memory behind `[vemva, vemva + n)` of process `p`, or fails when the range is
/// not inside one allocation.
fn with_range<R>(p: &VeProc, vemva: u64, n: usize, f: impl FnOnce(*mut u8) -> R) -> Result<R, ()> {
    let regions = p.regions.read();
    let (_, r, off) = region_of(&regions, vemva, n).ok_or(())?;
    // SAFETY: off + n <= r.size (region_of).
    Ok(f(unsafe { r.mem.add(off) }))
}

/// The allocation of `regions` that holds all of `[vemva, vemva + n)`: its start, the region and the
/// range's offset in it; None when no single allocation holds the range.
fn region_of(regions: &BTreeMap<u64, Region>, vemva: u64, n: usize) -> Option<(u64, &Region, usize)> {
    let (&start, r) = regions.range(..=vemva).next_back()?;
    let off = (vemva - start) as usize;
    off.checked_add(n).is_some_and(|end| end <= r.size).then_some((start, r, off))
}

/// The memory of one VE process as a running VE kernel sees it: its own traffic takes no link time
/// and, unlike host copies, no lock per access. The caller holds the process's regions read-locked
/// for the kernel's whole run, so no region can be freed under it, and the view remembers the last
/// two regions it used (a kernel alternates between a buffer and its scratch). A lock and a map
/// lookup per access cost more than the small blocks a datatype kernel moves (about 70 ns per
/// 8-byte block before; the real VE has neither).
pub(crate) struct KernelView<'a> {
    regions: &'a BTreeMap<u64, Region>,
    /// (start, end, host memory) of the regions used last, most recent first; (0, 0, null) when none.
    recent: Cell<[(u64, u64, *mut u8); 2]>,
}

impl<'a> KernelView<'a> {
    pub(crate) fn new(regions: &'a BTreeMap<u64, Region>) -> KernelView<'a> {
        KernelView { regions, recent: Cell::new([(0, 0, std::ptr::null_mut()); 2]) }
    }

    /// Host memory behind `[addr, addr + n)` (n > 0), or None when the range is not inside one
    /// allocation.
    fn at(&self, addr: u64, n: usize) -> Option<*mut u8> {
        let v = hmem_addr(addr);
        let end = v.checked_add(n as u64)?;
        let mut recent = self.recent.get();
        for i in 0..recent.len() {
            let (s, e, m) = recent[i];
            if s <= v && end <= e {
                if i > 0 {
                    recent.swap(0, i);
                    self.recent.set(recent);
                }
                // SAFETY: [v, end) lies inside the region [s, e) whose memory starts at m.
                return Some(unsafe { m.add((v - s) as usize) });
            }
        }
        let (start, r, off) = region_of(self.regions, v, n)?;
        recent[1] = recent[0];
        recent[0] = (start, start + r.size as u64, r.mem);
        self.recent.set(recent);
        // SAFETY: off + n <= r.size (region_of).
        Some(unsafe { r.mem.add(off) })
    }

    /// Copies `n` bytes between two VE addresses; -1 when either range leaves its allocation.
    pub(crate) fn copy_within(&self, dst: u64, src: u64, n: usize) -> c_int {
        if n == 0 {
            return 0;
        }
        match (self.at(src, n), self.at(dst, n)) {
            (Some(sm), Some(dm)) => {
                // SAFETY: both ranges were checked; they may overlap, so copy (memmove).
                unsafe { std::ptr::copy(sm, dm, n) };
                0
            }
            _ => -1,
        }
    }

    /// Copies `n` bytes from VE address `src` into host memory `dst`; -1 when the range leaves its
    /// allocation.
    ///
    /// # Safety
    /// `dst` is valid for `n` writable bytes.
    pub(crate) unsafe fn fetch(&self, dst: *mut u8, src: u64, n: usize) -> c_int {
        if n == 0 {
            return 0;
        }
        match self.at(src, n) {
            Some(m) => {
                // SAFETY: the range was checked inside its allocation; dst is the caller's.
                unsafe { std::ptr::copy_nonoverlapping(m, dst, n) };
                0
            }
            None => -1,
        }
    }
}

fn alloc_on(p: &VeProc, size: usize) -> Option<u64> {
    let region = Region::new(size)?;
    let vemva = p.reserve(size as u64)?;
    p.regions.write().insert(vemva, region);
    Some(vemva)
}

fn free_on(p: &VeProc, vemva: u64) -> c_int {
    match p.regions.write().remove(&vemva) {
        Some(_) => 0,
        None => -1,
    }
}

pub unsafe fn alloc_mem(h: *mut ProcHandle, addr: *mut u64, size: usize) -> c_int {
    // SAFETY: forwarded contract of veo_alloc_mem.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return -1 };
    if addr.is_null() {
        return -1;
    }
    match alloc_on(&p, size) {
        // SAFETY: addr checked non-null; the caller provides a writable uint64_t.
        Some(a) => unsafe { addr.write(a); 0 },
        None => -2,
    }
}

pub unsafe fn free_mem(h: *mut ProcHandle, addr: u64) -> c_int {
    // SAFETY: forwarded contract of veo_free_mem.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return -1 };
    free_on(&p, hmem_addr(addr))
}

/// The process an address belongs to and its VE virtual address; for an untagged address, `h`'s.
unsafe fn target(h: *mut ProcHandle, addr: u64) -> Option<(Arc<VeProc>, u64)> {
    // SAFETY: forwarded contract of the caller.
    let p = unsafe { proc::from_handle(h) }?;
    if is_ve_addr(addr) && pid_of(addr) != p.id {
        return None;
    }
    Some((p, hmem_addr(addr)))
}

pub unsafe fn read_mem(h: *mut ProcHandle, dst: *mut u8, src: u64, n: usize) -> c_int {
    // SAFETY: forwarded contract of veo_read_mem.
    match unsafe { target(h, src) } {
        Some((p, vemva)) => ve_to_host(&p, dst, vemva, n),
        None => -1,
    }
}

pub unsafe fn write_mem(h: *mut ProcHandle, dst: u64, src: *const u8, n: usize) -> c_int {
    // SAFETY: forwarded contract of veo_write_mem.
    match unsafe { target(h, dst) } {
        Some((p, vemva)) => host_to_ve(&p, vemva, src, n),
        None => -1,
    }
}

pub(crate) fn ve_to_host(p: &VeProc, dst: *mut u8, vemva: u64, n: usize) -> c_int {
    if n == 0 {
        return 0;
    }
    if dst.is_null() {
        return -1;
    }
    let slot = p.link.reserve(crate::link::Dir::VeToHost, n);
    // SAFETY: the range was checked inside the allocation; dst is the caller's n writable bytes.
    let r = with_range(p, vemva, n, |m| unsafe { std::ptr::copy_nonoverlapping(m, dst, n) });
    slot.finish();
    if r.is_ok() { 0 } else { -1 }
}

pub(crate) fn host_to_ve(p: &VeProc, vemva: u64, src: *const u8, n: usize) -> c_int {
    if n == 0 {
        return 0;
    }
    if src.is_null() {
        return -1;
    }
    let slot = p.link.reserve(crate::link::Dir::HostToVe, n);
    // SAFETY: the range was checked inside the allocation; src is the caller's n readable bytes.
    let r = with_range(p, vemva, n, |m| unsafe { std::ptr::copy_nonoverlapping(src, m, n) });
    slot.finish();
    if r.is_ok() { 0 } else { -1 }
}

pub unsafe fn alloc_hmem(h: *mut ProcHandle, addr: *mut *mut c_void, size: usize) -> c_int {
    if addr.is_null() {
        return -1;
    }
    if h.is_null() {
        // Host memory, as the real library does for a NULL process handle.
        // SAFETY: plain malloc; freed by veo_free_hmem.
        let m = unsafe { libc::malloc(size.max(1)) };
        if m.is_null() {
            return -2;
        }
        // SAFETY: addr checked non-null.
        unsafe { addr.write(m) };
        return 0;
    }
    // SAFETY: forwarded contract of veo_alloc_hmem.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return -1 };
    match alloc_on(&p, size) {
        // SAFETY: addr checked non-null.
        Some(vemva) => unsafe { addr.write(tag(&p, vemva) as *mut c_void); 0 },
        None => -2,
    }
}

pub unsafe fn free_hmem(addr: *mut c_void) -> c_int {
    let a = addr as u64;
    if !is_ve_addr(a) {
        // SAFETY: host HMEM memory comes from malloc in alloc_hmem.
        unsafe { libc::free(addr) };
        return 0;
    }
    match proc::by_id(pid_of(a)) {
        Some(p) => free_on(&p, hmem_addr(a)),
        None => -1,
    }
}

/// `veo_hmemcpy`: the direction comes from the tags.
pub unsafe fn hmemcpy(dst: u64, src: u64, n: usize) -> c_int {
    match (is_ve_addr(dst), is_ve_addr(src)) {
        (false, false) => {
            if n > 0 {
                if dst == 0 || src == 0 {
                    return -1;
                }
                // SAFETY: both are host addresses of n bytes by the caller's contract.
                unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, n) };
            }
            0
        }
        (false, true) => proc::with_id(pid_of(src), |p| ve_to_host(p, dst as *mut u8, hmem_addr(src), n)).unwrap_or(-1),
        (true, false) => proc::with_id(pid_of(dst), |p| host_to_ve(p, hmem_addr(dst), src as *const u8, n)).unwrap_or(-1),
        (true, true) => {
            if pid_of(src) != pid_of(dst) {
                return -1; // the real library copies VE to VE only within one VE process
            }
            let Some(p) = proc::by_id(pid_of(src)) else { return -1 };
            if n == 0 {
                return 0;
            }
            let (d, s) = (hmem_addr(dst), hmem_addr(src));
            let r = with_range(&p, s, n, |sm| {
                with_range(&p, d, n, |dm| {
                    // SAFETY: both ranges were checked; they may overlap, so copy (memmove).
                    unsafe { std::ptr::copy(sm, dm, n) }
                })
            });
            if matches!(r, Ok(Ok(()))) { 0 } else { -1 }
        }
    }
}
