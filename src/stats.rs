//! Counters exposed through `mpive_stats()` (include/mpive.h): cheap relaxed atomics, touched only on
//! VE paths.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub static STAGED_CALLS: AtomicU64 = AtomicU64::new(0);
pub static COPIES: AtomicU64 = AtomicU64::new(0);
pub static COPIED_BYTES: AtomicU64 = AtomicU64::new(0);
pub static LIVE_BUFFERS: AtomicU64 = AtomicU64::new(0);
pub static POOL_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static POOL_CACHED_BYTES: AtomicU64 = AtomicU64::new(0);
pub static PENDING_REQUESTS: AtomicU64 = AtomicU64::new(0);

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
}

pub fn snapshot() -> MpiveStats {
    MpiveStats {
        staged_calls: STAGED_CALLS.load(Relaxed),
        copies: COPIES.load(Relaxed),
        copied_bytes: COPIED_BYTES.load(Relaxed),
        live_buffers: LIVE_BUFFERS.load(Relaxed),
        pool_allocations: POOL_ALLOCATIONS.load(Relaxed),
        pool_cached_bytes: POOL_CACHED_BYTES.load(Relaxed),
        pending_requests: PENDING_REQUESTS.load(Relaxed),
    }
}
