//! Counters exposed through `mpive_stats()` (include/mpive.h), touched only on VE paths.
//!
//! The counters of every staged call (staged calls, copies, bytes, staging buffers lent and cached)
//! are per thread: each thread owns a block that only it writes, with a plain load and store, so the
//! small VE messages' path has no atomic read-modify-write (even uncontended, each costs as
//! much as dozens of plain instructions, and they were a third of a staged call's cost). `mpive_stats`
//! adds the blocks up;
//! a thread's block is registered the first time it counts (one allocation per thread) and folded
//! into the totals of exited threads when the thread ends. Rare events keep plain atomics.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

pub static POOL_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static PENDING_REQUESTS: AtomicU64 = AtomicU64::new(0);
pub static HEAP_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static PIPELINED: AtomicU64 = AtomicU64::new(0);
pub static TEMP_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Staging buffers allocated outside the pool and lent out now.
pub static TEMP_LENT: AtomicU64 = AtomicU64::new(0);

/// The per-thread counters.
#[derive(Clone, Copy)]
#[repr(usize)]
pub enum Local {
    StagedCalls,
    Copies,
    CopiedBytes,
    /// Pool buffers taken minus returned by this thread (wrapping: a buffer may be returned by
    /// another thread than the one that took it; the sum over threads is exact).
    Lent,
    /// Bytes of idle pool buffers, in the threads' caches and the shared lists, that this thread
    /// made idle minus those it took (wrapping, as `Lent`).
    IdleBytes,
    /// libveo copy calls by direction ([`Dir`]): calls, bytes, nanoseconds spent in them.
    FromVeCopies,
    FromVeBytes,
    FromVeNs,
    ToVeCopies,
    ToVeBytes,
    ToVeNs,
    /// Transfers whose both ends are VE memory (each made of one copy from and one to the VE, also
    /// counted above).
    VeVeTransfers,
    VeVeBytes,
    VeVeNs,
    /// Calls into the VE kernel (pack, unpack) and the nanoseconds spent in them.
    KernelCalls,
    KernelNs,
}
const LOCALS: usize = 16;

/// The direction of a copy between host and VE memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// VE to host (VE->VH): `veo_hmemcpy` with a VE source, `veo_read_mem`.
    FromVe,
    /// Host to VE (VH->VE): `veo_hmemcpy` with a VE destination, `veo_write_mem`.
    ToVe,
}

type Block = [AtomicU64; LOCALS];

/// Every live thread's block, and the totals of the threads that ended.
struct Registry {
    live: Vec<Arc<Block>>,
    ended: [u64; LOCALS],
}
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    ended: [0; LOCALS],
});

/// This thread's block; on thread exit its counts go to `ended`.
struct Mine(Arc<Block>);

impl Mine {
    fn register() -> Mine {
        let b: Arc<Block> = Arc::new([const { AtomicU64::new(0) }; LOCALS]);
        REGISTRY.lock().live.push(b.clone());
        Mine(b)
    }
}

impl Drop for Mine {
    fn drop(&mut self) {
        let mut r = REGISTRY.lock();
        r.live.retain(|b| !Arc::ptr_eq(b, &self.0));
        for (e, c) in r.ended.iter_mut().zip(self.0.iter()) {
            *e = e.wrapping_add(c.load(Relaxed));
        }
    }
}

thread_local! {
    static MINE: Mine = Mine::register();
}

/// Adds `n` (wrapping; a negative amount as its two's complement) to this thread's counter `c`.
#[inline]
pub fn add(c: Local, n: u64) {
    let done = MINE.try_with(|m| {
        let a = &m.0[c as usize];
        // Only this thread writes its block: no read-modify-write needed.
        a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
    });
    if done.is_err() {
        // This thread is ending (its block is gone): count with the threads that ended.
        let mut r = REGISTRY.lock();
        r.ended[c as usize] = r.ended[c as usize].wrapping_add(n);
    }
}

/// The sum of counter `c` over all threads.
fn total(c: Local) -> u64 {
    let r = REGISTRY.lock();
    r.live.iter().fold(r.ended[c as usize], |t, b| {
        t.wrapping_add(b[c as usize].load(Relaxed))
    })
}

/// Staging buffers lent out, in the pool and outside it (mpive_stats: live_buffers). Exact when no
/// buffer is on the move; while buffers are being taken and returned on different threads the
/// blocks are read one after the other, so a return may be seen without its take: the sum is then
/// read as signed and counted as none rather than wrapping to 2^64 - 1.
pub fn live_buffers() -> u64 {
    signed_floor(total(Local::Lent).wrapping_add(TEMP_LENT.load(Relaxed)))
}

/// A wrapping sum read as signed, negative as 0.
fn signed_floor(sum: u64) -> u64 {
    (sum as i64).max(0) as u64
}

/// Bytes of the pool's idle buffers (mpive_stats: pool_cached_bytes); exact as [`live_buffers`].
pub fn idle_bytes() -> u64 {
    signed_floor(total(Local::IdleBytes))
}

/// The allocator of libmpive's own Rust code: the system allocator, counting allocations, so that
/// `heap_allocations` proves that steady-state VE traffic allocates nothing. One relaxed
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

/// Counts one libveo copy call of `n` bytes in direction `dir` that took `ns` nanoseconds.
#[inline]
pub fn count_copy(dir: Dir, n: usize, ns: u64) {
    add(Local::Copies, 1);
    add(Local::CopiedBytes, n as u64);
    let (c, b, t) = match dir {
        Dir::FromVe => (Local::FromVeCopies, Local::FromVeBytes, Local::FromVeNs),
        Dir::ToVe => (Local::ToVeCopies, Local::ToVeBytes, Local::ToVeNs),
    };
    add(c, 1);
    add(b, n as u64);
    add(t, ns);
}

/// Counts one transfer of `n` bytes between two VE addresses that took `ns` nanoseconds (its two
/// libveo copies are counted by [`count_copy`] as well).
#[inline]
pub fn count_ve_to_ve(n: usize, ns: u64) {
    add(Local::VeVeTransfers, 1);
    add(Local::VeVeBytes, n as u64);
    add(Local::VeVeNs, ns);
}

/// Counts one call into the VE kernel that took `ns` nanoseconds.
#[inline]
pub fn count_kernel_call(ns: u64) {
    add(Local::KernelCalls, 1);
    add(Local::KernelNs, ns);
}

#[inline]
pub fn count_staged_call() {
    add(Local::StagedCalls, 1);
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
    // Added in libmpive 0.3 (mpive_stats_sized() with the full size). Every libveo copy call is
    // counted once in `copies` and once in one direction below; `time_ns` is wall time inside them.
    /// libveo copy calls from VE to host memory (VE->VH), their bytes and nanoseconds.
    pub copies_from_ve: u64,
    pub bytes_from_ve: u64,
    pub time_ns_from_ve: u64,
    /// libveo copy calls from host to VE memory (VH->VE), their bytes and nanoseconds.
    pub copies_to_ve: u64,
    pub bytes_to_ve: u64,
    pub time_ns_to_ve: u64,
    /// Transfers between two VE addresses (`mpive_hmemcpy` with both ends VE memory), their bytes
    /// and nanoseconds. Each is made of one copy from and one copy to the VE, which the six
    /// counters above include.
    pub ve_to_ve: u64,
    pub bytes_ve_to_ve: u64,
    pub time_ns_ve_to_ve: u64,
    // Added in libmpive 0.4.
    /// Calls into libmpive's VE kernel (pack or unpack of a datatype's blocks in VE memory, one
    /// `veo_call_async` and its wait each) and the nanoseconds spent in them. Copies and kernel calls
    /// together are the libveo round trips a call costs.
    pub ve_kernel_calls: u64,
    pub time_ns_ve_kernel: u64,
}

/// Bytes of [`MpiveStats`] that `mpive_stats()` writes: the fields up to `pending_requests`.
pub const STATS_V1_SIZE: usize = std::mem::offset_of!(MpiveStats, heap_allocations);

pub fn snapshot() -> MpiveStats {
    MpiveStats {
        staged_calls: total(Local::StagedCalls),
        copies: total(Local::Copies),
        copied_bytes: total(Local::CopiedBytes),
        live_buffers: live_buffers(),
        pool_allocations: POOL_ALLOCATIONS.load(Relaxed),
        pool_cached_bytes: idle_bytes(),
        pending_requests: PENDING_REQUESTS.load(Relaxed),
        heap_allocations: HEAP_ALLOCATIONS.load(Relaxed),
        pipelined: PIPELINED.load(Relaxed),
        temp_allocations: TEMP_ALLOCATIONS.load(Relaxed),
        copies_from_ve: total(Local::FromVeCopies),
        bytes_from_ve: total(Local::FromVeBytes),
        time_ns_from_ve: total(Local::FromVeNs),
        copies_to_ve: total(Local::ToVeCopies),
        bytes_to_ve: total(Local::ToVeBytes),
        time_ns_to_ve: total(Local::ToVeNs),
        ve_to_ve: total(Local::VeVeTransfers),
        bytes_ve_to_ve: total(Local::VeVeBytes),
        time_ns_ve_to_ve: total(Local::VeVeNs),
        ve_kernel_calls: total(Local::KernelCalls),
        time_ns_ve_kernel: total(Local::KernelNs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_thread_counters_add_up_over_live_and_ended_threads() {
        let before = (total(Local::Copies), total(Local::CopiedBytes));
        let go = std::sync::Barrier::new(5);
        let blocks: std::sync::Mutex<Vec<Arc<Block>>> = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        for _ in 0..1000 {
                            count_copy(Dir::FromVe, 3, 1);
                        }
                        blocks.lock().unwrap().push(MINE.with(|m| m.0.clone()));
                        go.wait(); // all four alive: their blocks are summed while registered
                        go.wait();
                    })
                })
                .collect();
            go.wait();
            assert_eq!(total(Local::Copies) - before.0, 4000);
            go.wait();
            // joined: the threads' destructors have run
            threads.into_iter().for_each(|t| t.join().unwrap());
        });
        // the threads ended: their counts moved to the totals of ended threads, none lost or doubled
        assert_eq!((total(Local::Copies) - before.0, total(Local::CopiedBytes) - before.1), (4000, 12000));
        assert!(total(Local::FromVeCopies) >= 4000 && total(Local::FromVeNs) >= 4000);
        // the test holds the only references left: the threads and the registry dropped theirs
        let ended = blocks.into_inner().unwrap();
        assert!(ended.iter().all(|b| Arc::strong_count(b) == 1), "ended threads unregister their blocks");
    }

    #[test]
    fn a_return_seen_before_its_take_counts_as_none() {
        // a return on one thread (-1) summed before the take on another (+1) was read
        assert_eq!(signed_floor(0u64.wrapping_add(1u64.wrapping_neg())), 0);
        assert_eq!(signed_floor(3u64.wrapping_add(1u64.wrapping_neg())), 2);
    }
}
