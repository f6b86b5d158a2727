//! Counters exposed through `mpive_stats()` (include/mpive.h): cheap relaxed atomics, touched only on
//! VE paths.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub static STAGED_CALLS: AtomicU64 = AtomicU64::new(0);
pub static COPIES: AtomicU64 = AtomicU64::new(0);
pub static COPIED_BYTES: AtomicU64 = AtomicU64::new(0);
pub static POOL_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static PENDING_REQUESTS: AtomicU64 = AtomicU64::new(0);
pub static HEAP_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static PIPELINED: AtomicU64 = AtomicU64::new(0);
pub static TEMP_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The allocator of libmpive's own Rust code: the system allocator, counting allocations, so that
/// `heap_allocations` proves that steady-state VE traffic allocates nothing (issue 8). One relaxed
/// increment per allocation; the host path never allocates.
struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        HEAP_ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: std::alloc::Layout) -> *mut u8 {
        HEAP_ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        HEAP_ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[inline]
pub fn count_copy(n: usize) {
    COPIES.fetch_add(1, Relaxed);
    COPIED_BYTES.fetch_add(n as u64, Relaxed);
}

/// Snapshot of the counters, as the C API returns it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MpiveStats {
    /// Intercepted calls that staged at least one VE buffer.
    pub staged_calls: u64,
    /// Copies between VE and host memory, and their total size in bytes.
    pub copies: u64,
    pub copied_bytes: u64,
    /// Staging buffers currently lent out (0 once every operation has completed).
    pub live_buffers: u64,
    /// Host memory allocations made by the staging pool since start (flat in steady state).
    pub pool_allocations: u64,
    /// Bytes held by the pool for reuse.
    pub pool_cached_bytes: u64,
    /// Requests with staged VE buffers that the application has not completed yet.
    pub pending_requests: u64,
    // The fields below are filled by mpive_stats_sized() only; mpive_stats() fills the seven above
    // (the layout of libmpive 0.1, which callers may have declared themselves).
    /// Heap allocations made by libmpive's own code since start (flat in steady state).
    pub heap_allocations: u64,
    /// Point-to-point transfers sent or received in chunks by the pipelining protocol (MPIVE_PIPELINE=1).
    pub pipelined: u64,
    /// Staging buffers allocated outside the pool because it was at its limit (MPIVE_STAGING_LIMIT);
    /// freed when returned.
    pub temp_allocations: u64,
}

/// Bytes of [`MpiveStats`] that `mpive_stats()` writes: the fields up to `pending_requests`.
pub const STATS_V1_SIZE: usize = std::mem::offset_of!(MpiveStats, heap_allocations);

pub fn snapshot() -> MpiveStats {
    MpiveStats {
        staged_calls: STAGED_CALLS.load(Relaxed),
        copies: COPIES.load(Relaxed),
        copied_bytes: COPIED_BYTES.load(Relaxed),
        live_buffers: crate::pool::live_buffers(),
        pool_allocations: POOL_ALLOCATIONS.load(Relaxed),
        pool_cached_bytes: crate::pool::cached_bytes(),
        pending_requests: PENDING_REQUESTS.load(Relaxed),
        heap_allocations: HEAP_ALLOCATIONS.load(Relaxed),
        pipelined: PIPELINED.load(Relaxed),
        temp_allocations: TEMP_ALLOCATIONS.load(Relaxed),
    }
}
