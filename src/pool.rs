//! Host staging buffers, from a pool of power-of-two size classes.
//!
//! Buffers are reused, so a steady stream of VE operations allocates nothing after warm-up. The pool
//! keeps at most `MPIVE_STAGING_LIMIT` bytes (default 256 MiB; suffixes K, M, G) of idle buffers;
//! a buffer returned beyond that is freed. Each size class has its own lock, held only to push or pop
//! one pointer, so threads staging different sizes never meet and threads of the same size meet for
//! nanoseconds.

use crate::abi::Class;
use crate::errors::{Error, Result};
use crate::stats::{LIVE_BUFFERS, POOL_ALLOCATIONS, POOL_CACHED_BYTES};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::Relaxed;

const MIN_CLASS: u32 = 8; // 256 bytes
const CLASSES: usize = 48;
const DEFAULT_LIMIT: u64 = 256 << 20;

struct Free(Vec<NonNull<u8>>);
// SAFETY: idle buffers are plain memory owned by the pool.
unsafe impl Send for Free {}

static FREE: [Mutex<Free>; CLASSES] = [const { Mutex::new(Free(Vec::new())) }; CLASSES];

/// Parses sizes like `256M`, `1G`, `4096`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches(['B', 'b']);
    let (num, shift) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 10),
        'M' | 'm' => (&s[..s.len() - 1], 20),
        'G' | 'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Most bytes of idle buffers the pool keeps.
pub static LIMIT: Lazy<u64> = Lazy::new(|| {
    std::env::var("MPIVE_STAGING_LIMIT").ok().and_then(|s| parse_size(&s)).unwrap_or(DEFAULT_LIMIT)
});

fn class_of(len: usize) -> u32 {
    len.max(1).next_power_of_two().trailing_zeros().max(MIN_CLASS)
}

fn layout(class: u32) -> Layout {
    let size = 1usize << class;
    // Page alignment for large buffers (DMA friendly), cache-line alignment for small ones.
    Layout::from_size_align(size, size.min(4096)).expect("power-of-two layout")
}

/// A staging buffer lent by the pool; returns to it when dropped.
pub struct PoolBuf {
    ptr: NonNull<u8>,
    class: u32,
}

// SAFETY: the buffer is exclusively owned memory.
unsafe impl Send for PoolBuf {}
unsafe impl Sync for PoolBuf {}

impl PoolBuf {
    /// A buffer of at least `len` bytes (contents undefined).
    pub fn get(len: usize) -> Result<PoolBuf> {
        let class = class_of(len);
        if class as usize >= CLASSES {
            return Err(Error::new(Class::NoMem, format!("cannot stage {len} bytes: larger than the address space allows")));
        }
        let cached = FREE[class as usize].lock().0.pop();
        let ptr = match cached {
            Some(p) => {
                POOL_CACHED_BYTES.fetch_sub(1 << class, Relaxed);
                p
            }
            None => {
                // SAFETY: non-zero size.
                let p = unsafe { std::alloc::alloc(layout(class)) };
                POOL_ALLOCATIONS.fetch_add(1, Relaxed);
                NonNull::new(p).ok_or_else(|| {
                    Error::new(
                        Class::NoMem,
                        format!("cannot allocate a {} byte host staging buffer for a VE buffer: out of host memory", 1u64 << class),
                    )
                })?
            }
        };
        LIVE_BUFFERS.fetch_add(1, Relaxed);
        Ok(PoolBuf { ptr, class })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn capacity(&self) -> usize {
        1 << self.class
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        LIVE_BUFFERS.fetch_sub(1, Relaxed);
        let size = 1u64 << self.class;
        if POOL_CACHED_BYTES.fetch_add(size, Relaxed) + size <= *LIMIT {
            FREE[self.class as usize].lock().0.push(self.ptr);
        } else {
            POOL_CACHED_BYTES.fetch_sub(size, Relaxed);
            // SAFETY: allocated with this class's layout.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout(self.class)) };
        }
    }
}

/// Frees every idle buffer (MPI_Finalize).
pub fn trim() {
    for (class, free) in FREE.iter().enumerate() {
        for p in free.lock().0.drain(..) {
            POOL_CACHED_BYTES.fetch_sub(1 << class, Relaxed);
            // SAFETY: allocated with this class's layout.
            unsafe { std::alloc::dealloc(p.as_ptr(), layout(class as u32)) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(class_of(0), MIN_CLASS);
        assert_eq!(class_of(257), 9);
    }

    #[test]
    fn buffers_are_reused() {
        let a = PoolBuf::get(100_000).unwrap();
        let pa = a.as_ptr();
        assert!(a.capacity() >= 100_000);
        drop(a);
        let b = PoolBuf::get(70_000).unwrap();
        assert_eq!(b.as_ptr(), pa, "same class comes back from the pool");
    }
}
