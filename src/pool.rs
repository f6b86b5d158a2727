//! Host staging buffers, from a pool of power-of-two size classes.
//!
//! Buffers are reused, so a steady stream of VE operations allocates nothing after warm-up. The pool
//! holds at most `MPIVE_STAGING_LIMIT` bytes (default 256 MiB; suffixes K, M, G), lent and idle
//! buffers together. When a new buffer would pass the limit, idle buffers of other sizes are freed
//! first; if the buffers lent out alone reach the limit, the buffer is allocated outside the pool
//! (exact size, freed when returned, counted in `temp_allocations`, and logged once). Pipelined
//! transfers ([`crate::pipeline`]) stage large messages in chunks, so only calls that need a whole
//! buffer above the limit (collectives, MPIVE_PIPELINE=0) get there.
//!
//! Each size class has its own lock, held only to push or pop one pointer, so threads staging
//! different sizes never meet and threads of the same size meet for nanoseconds. In front of the
//! shared lists, each thread keeps one idle buffer of each small class (up to 64 KiB): a steady
//! stream of small messages takes and returns its buffers without a lock or any atomic
//! read-modify-write. A thread's cached buffers go back to the shared lists when it ends.
//! They count within the limit, but only their thread can reuse them: `grow` cannot free another
//! thread's, and `trim` at MPI_Finalize frees only the finalizing thread's (other threads' go to the
//! shared lists when those threads end; at most 128 KiB per thread).

use crate::abi::Class;
use crate::errors::{Error, Result};
use crate::ffi;
use crate::stats::{self, Local, POOL_ALLOCATIONS, TEMP_ALLOCATIONS};
use parking_lot::Mutex;
use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

const MIN_CLASS: u32 = 8; // 256 bytes
const CLASSES: usize = 48;
/// A buffer outside the pool.
const TEMP: u32 = u32::MAX;

/// A size class's idle buffers (how many are lent out is counted per thread, [`crate::stats`]).
struct Free {
    idle: Vec<NonNull<u8>>,
}
// SAFETY: idle buffers are plain memory owned by the pool.
unsafe impl Send for Free {}

static FREE: [Mutex<Free>; CLASSES] = [const { Mutex::new(Free { idle: Vec::new() }) }; CLASSES];

// The pool reports its gauges to the counters as they change (mpive_stats reads them there): buffers
// lent out (`Local::Lent`, and `TEMP_LENT` for those outside the pool) and bytes of idle buffers
// (`Local::IdleBytes`, whether in a thread's cache or in the shared lists).

/// Pops an idle buffer of `class` from the shared list.
fn pop_shared(class: u32) -> Option<NonNull<u8>> {
    let p = FREE[class as usize].lock().idle.pop()?;
    stats::add(Local::IdleBytes, (1u64 << class).wrapping_neg());
    Some(p)
}

/// Puts an idle buffer of `class` on the shared list.
fn push_shared(class: u32, p: NonNull<u8>) {
    FREE[class as usize].lock().idle.push(p);
    stats::add(Local::IdleBytes, 1 << class);
}

/// Size classes with a per-thread idle buffer: 256 B to 64 KiB.
const CACHED: usize = 9;

/// This thread's idle buffer of each small class.
struct Cache([Cell<Option<NonNull<u8>>>; CACHED]);

impl Cache {
    fn slot(&self, class: u32) -> Option<&Cell<Option<NonNull<u8>>>> {
        self.0.get(class.checked_sub(MIN_CLASS)? as usize)
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (i, c) in self.0.iter().enumerate() {
            if let Some(p) = c.take() {
                // Still idle: the counters do not change (this thread's may be gone already).
                FREE[(MIN_CLASS + i as u32) as usize].lock().idle.push(p);
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const { Cache([const { Cell::new(None) }; CACHED]) };
}

/// Takes this thread's idle buffer of `class`, if any.
fn take_cached(class: u32) -> Option<NonNull<u8>> {
    let p = CACHE
        .try_with(|c| c.slot(class).and_then(Cell::take))
        .ok()
        .flatten()?;
    stats::add(Local::IdleBytes, (1u64 << class).wrapping_neg());
    Some(p)
}

/// Keeps `p` as this thread's idle buffer of `class` if the slot is free; false if not kept.
fn keep_cached(class: u32, p: NonNull<u8>) -> bool {
    let kept = CACHE
        .try_with(|c| match c.slot(class) {
            Some(s) if s.get().is_none() => {
                s.set(Some(p));
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if kept {
        stats::add(Local::IdleBytes, 1 << class);
    }
    kept
}
/// Bytes of the pool's buffers, lent and idle.
static POOL_BYTES: AtomicU64 = AtomicU64::new(0);
static TEMP_LOGGED: AtomicBool = AtomicBool::new(false);

fn class_of(len: usize) -> u32 {
    len.max(1).next_power_of_two().trailing_zeros().max(MIN_CLASS)
}

fn layout(class: u32) -> Layout {
    let size = 1usize << class;
    // Page alignment for large buffers (DMA friendly), cache-line alignment for small ones.
    Layout::from_size_align(size, size.min(4096)).expect("power-of-two layout")
}

fn temp_layout(len: usize) -> Option<Layout> {
    Layout::from_size_align(len.max(1), 4096).ok()
}

fn oom(len: usize) -> Error {
    Error::new(Class::NoMem, format!("cannot allocate a {len} byte host staging buffer for a VE buffer: out of host memory"))
}

/// A staging buffer lent by the pool; returns to it when dropped.
pub struct PoolBuf {
    ptr: NonNull<u8>,
    class: u32,
    /// Size of a buffer outside the pool.
    len: usize,
}

// SAFETY: the buffer is exclusively owned memory.
unsafe impl Send for PoolBuf {}
// SAFETY: a &PoolBuf only gives out the address; reads and writes through it are the holder's.
unsafe impl Sync for PoolBuf {}

impl PoolBuf {
    /// A buffer of at least `len` bytes (contents undefined).
    pub fn get(len: usize) -> Result<PoolBuf> {
        Self::get_within(len, crate::tune::staging_limit())
    }

    fn get_within(len: usize, limit: u64) -> Result<PoolBuf> {
        let class = class_of(len);
        if class as usize >= CLASSES {
            return Err(Error::new(Class::NoMem, format!("cannot stage {len} bytes: larger than the address space allows")));
        }
        let cached = take_cached(class).or_else(|| pop_shared(class));
        let ptr = match cached {
            Some(p) => p,
            None => match grow(class, limit)? {
                Some(p) => p,
                None => return Self::temporary(len),
            },
        };
        stats::add(Local::Lent, 1);
        Ok(PoolBuf { ptr, class, len: 0 })
    }

    /// A buffer outside the pool (the pool is at its limit).
    #[cold]
    fn temporary(len: usize) -> Result<PoolBuf> {
        if !TEMP_LOGGED.swap(true, Relaxed) {
            log::warn!(
                "staging a {len} byte buffer outside the pool: the staging buffers in use reach MPIVE_STAGING_LIMIT ({} bytes); \
                 it is allocated now and freed after the call (logged once)",
                crate::tune::staging_limit()
            );
        }
        let l = temp_layout(len).ok_or_else(|| oom(len))?;
        // SAFETY: non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc(l) }).ok_or_else(|| oom(len))?;
        TEMP_ALLOCATIONS.fetch_add(1, Relaxed);
        stats::TEMP_LENT.fetch_add(1, Relaxed);
        Ok(PoolBuf { ptr, class: TEMP, len })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn capacity(&self) -> usize {
        if self.class == TEMP {
            self.len
        } else {
            1 << self.class
        }
    }
}

/// A new buffer of `class` within `limit`, freeing idle buffers of other classes (largest first) if
/// that makes room; None when the buffers lent out leave no room.
#[cold]
fn grow(class: u32, limit: u64) -> Result<Option<NonNull<u8>>> {
    let size = 1u64 << class;
    let mut victim = CLASSES;
    loop {
        let used = POOL_BYTES.load(Relaxed);
        if used + size <= limit {
            if POOL_BYTES.compare_exchange(used, used + size, Relaxed, Relaxed).is_err() {
                continue;
            }
            // SAFETY: non-zero size.
            let Some(p) = NonNull::new(unsafe { std::alloc::alloc(layout(class)) }) else {
                POOL_BYTES.fetch_sub(size, Relaxed);
                return Err(oom(size as usize));
            };
            POOL_ALLOCATIONS.fetch_add(1, Relaxed);
            return Ok(Some(p));
        }
        loop {
            if victim == 0 {
                return Ok(None);
            }
            let c = (victim - 1) as u32;
            if c != class && drop_idle(c) {
                break; // the same class may hold more idle buffers
            }
            victim -= 1;
        }
    }
}

/// Frees one idle buffer of `class`; false if there is none.
fn drop_idle(class: u32) -> bool {
    let Some(p) = pop_shared(class) else { return false };
    POOL_BYTES.fetch_sub(1 << class, Relaxed);
    // SAFETY: allocated with this class's layout.
    unsafe { std::alloc::dealloc(p.as_ptr(), layout(class)) };
    true
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        if self.class == TEMP {
            stats::TEMP_LENT.fetch_sub(1, Relaxed);
            if let Some(l) = temp_layout(self.len) {
                // SAFETY: allocated with this layout in PoolBuf::temporary.
                unsafe { std::alloc::dealloc(self.ptr.as_ptr(), l) };
            }
            return;
        }
        stats::add(Local::Lent, u64::MAX); // minus one
        if !keep_cached(self.class, self.ptr) {
            push_shared(self.class, self.ptr);
        }
    }
}

/// Frees every idle buffer of the shared lists and of this thread's cache (MPI_Finalize). A panic
/// is reported and stops here: MPI is finalized, no error handler is left to call.
pub fn trim() {
    ffi::boundary_or("MPI_Finalize", (), || {
        for class in MIN_CLASS..MIN_CLASS + CACHED as u32 {
            if let Some(p) = take_cached(class) {
                push_shared(class, p);
            }
        }
        for class in MIN_CLASS..CLASSES as u32 {
            while drop_idle(class) {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::live_buffers;

    /// The tests that count buffers run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn classes() {
        assert_eq!(class_of(0), MIN_CLASS);
        assert_eq!(class_of(257), 9);
    }

    #[test]
    fn buffers_are_reused() {
        let _one = SERIAL.lock();
        let a = PoolBuf::get(100_000).unwrap();
        let pa = a.as_ptr();
        assert!(a.capacity() >= 100_000);
        drop(a);
        let b = PoolBuf::get(70_000).unwrap();
        assert_eq!(b.as_ptr(), pa, "same class comes back from the pool");
    }

    #[test]
    fn the_limit_bounds_lent_and_idle_buffers() {
        let _one = SERIAL.lock();
        // classes of their own (32 and 64 MiB), so that the other tests do not interfere
        let limit = 100 << 20; // with room for the other tests' small buffers
        let a = PoolBuf::get_within(32 << 20, limit).unwrap();
        let b = PoolBuf::get_within(64 << 20, limit).unwrap();
        assert!(b.class != TEMP, "32 + 64 MiB fit in 100 MiB");
        let t0 = TEMP_ALLOCATIONS.load(Relaxed);
        let c = PoolBuf::get_within(40 << 20, limit).unwrap();
        assert_eq!(c.class, TEMP, "no room left: outside the pool");
        assert_eq!(c.capacity(), 40 << 20, "exact size");
        assert!(TEMP_ALLOCATIONS.load(Relaxed) > t0);
        drop((a, c));
        // 64 MiB lent, 32 MiB idle: a second 64 MiB buffer needs the idle one freed
        let d = PoolBuf::get_within(64 << 20, 132 << 20).unwrap();
        assert!(d.class != TEMP, "idle buffers of other classes make room");
        drop((b, d));
    }

    #[test]
    fn the_counters_follow_idle_bytes() {
        let _one = SERIAL.lock();
        // 8 MiB: a class of its own, above the per-thread caches (the shared list's path)
        const N: usize = 8 << 20;
        let a = PoolBuf::get(N).unwrap();
        let (idle, live) = (stats::idle_bytes(), live_buffers());
        drop(a);
        assert_eq!((stats::idle_bytes(), live_buffers()), (idle + N as u64, live - 1), "a returned buffer is idle");
        let b = PoolBuf::get(N).unwrap();
        assert_eq!((stats::idle_bytes(), live_buffers()), (idle, live), "taken again, it is lent");
        drop(b);
        // 4 KiB: a class with a per-thread cache
        let c = PoolBuf::get(4096).unwrap();
        let idle = stats::idle_bytes();
        drop(c);
        assert_eq!(stats::idle_bytes(), idle + 4096, "a buffer in this thread's cache is idle");
        trim();
        assert!(FREE.iter().all(|f| f.lock().idle.is_empty()), "trim frees the shared lists");
    }

    #[test]
    fn small_buffers_cross_threads_and_come_back_when_threads_end() {
        let _one = SERIAL.lock();
        // 64 KiB, the largest class with a per-thread cache; no other test uses it
        const N: usize = 40_000;
        let class = class_of(N);
        assert_eq!(class, MIN_CLASS + CACHED as u32 - 1);
        let live = live_buffers();
        let shared = |c: u32| FREE[c as usize].lock().idle.len();
        let shared_before = shared(class);
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel();
            s.spawn(move || {
                let a = PoolBuf::get(N).unwrap();
                let b = PoolBuf::get(N).unwrap();
                assert_eq!(live_buffers(), live + 2);
                tx.send((a, b)).unwrap();
            })
            .join()
            .unwrap();
            s.spawn(move || {
                let (a, b) = rx.recv().unwrap();
                let pa = a.as_ptr();
                drop(a); // kept in this thread's cache
                drop(b); // the cache's slot is taken: to the shared list
                assert_eq!(
                    live_buffers(),
                    live,
                    "returned on another thread than the one that took them"
                );
                let c = PoolBuf::get(N).unwrap();
                assert_eq!(c.as_ptr(), pa, "this thread's cache is used first");
            })
            .join()
            .unwrap();
        });
        assert_eq!(live_buffers(), live);
        // the first thread took two buffers from the shared list (or new ones); both came back to it,
        // one at its return and one, from the second thread's cache, when that thread ended
        assert_eq!(shared(class), shared_before - shared_before.min(2) + 2, "an ended thread's cached buffer goes back to the shared list");
    }
}
