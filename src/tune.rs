//! Tunables of the VE paths: environment variables read once, at the first VE operation,
//! and adjustable at run time through `mpive_set_tunable` (the benchmark sweeps them).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MPIVE_PIPELINE` | `0` | `1`: pipelined point-to-point protocol for large VE messages ([`crate::pipeline`]). Every rank must run libmpive with the same setting. |
//! | `MPIVE_PIPELINE_THRESHOLD` | `2M` | smallest VE message (bytes) that is pipelined: point-to-point sends, Allreduce, Bcast; at least 64K ([`MIN_THRESHOLD`]). |
//! | `MPIVE_PIPELINE_CHUNK` | `1M` | bytes per chunk of a pipelined transfer (4K to 64M). |
//! | `MPIVE_PIPELINE_ALLREDUCE` | `0` | `1`: split large Allreduces too (all ranks, host ones included: on Open MPI 4.1 their chunked nonblocking Allreduce was up to 1.5 times slower than one blocking call). |
//! | `MPIVE_STAGING_LIMIT` | `256M` | most bytes of staging memory the pool holds (lent and idle together) ([`crate::pool`]). |
//!
//! The host path reads none of them.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Once;

/// Receives whose capacity reaches this many bytes look for a pipeline header in pipelined mode,
/// whatever the sender's threshold is; a sender never pipelines less.
pub const MIN_THRESHOLD: u64 = 64 << 10;
/// Defaults for the VE as it is (docs/performance.md, "Pipelining on the model"): every chunk is a
/// libveo copy on each side, and a copy has a fixed cost of about 12 µs besides its bytes at about
/// 10 GB/s (VE Type 10B), so a chunk of c bytes uses the link at c/R / (L + c/R): 81 % for 512 KiB,
/// 90 % for 1 MiB. A transfer of S bytes in chunks of c takes about (S/c + 1)(L + c/R) when the link
/// is the slower side, shortest at c = sqrt(S L R): 0.7 MiB for 4 MiB, 1.4 MiB for 16 MiB, 3.9 MiB
/// for 128 MiB. 1 MiB chunks lose less than 1 % against the best chunk at 4 and 16 MiB, 6 % at
/// 128 MiB and 9 % at 2 MiB; pipelining starts at two chunks (below that a message has nothing to
/// overlap). The benchmark's sweep-model run checks these on the model.
pub const DEFAULT_THRESHOLD: u64 = 2 << 20;
pub const DEFAULT_CHUNK: u64 = 1 << 20;
pub const MIN_CHUNK: u64 = 4 << 10;
pub const MAX_CHUNK: u64 = 64 << 20;
pub const DEFAULT_STAGING_LIMIT: u64 = 256 << 20;

/// 0: not read yet, 1: off, 2: on.
static PIPELINE: AtomicU8 = AtomicU8::new(0);
static PIPELINE_SEND: AtomicBool = AtomicBool::new(true);
static PIPELINE_ALLREDUCE: AtomicBool = AtomicBool::new(false);
static THRESHOLD: AtomicU64 = AtomicU64::new(DEFAULT_THRESHOLD);
static CHUNK: AtomicU64 = AtomicU64::new(DEFAULT_CHUNK);
static STAGING_LIMIT: AtomicU64 = AtomicU64::new(DEFAULT_STAGING_LIMIT);
static INIT: Once = Once::new();

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

fn env_size(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match parse_size(&v) {
        Some(n) => Some(n),
        None => {
            log::warn!("{name}={v}: not a size (e.g. 256K, 1M); using the default");
            None
        }
    }
}

/// Reads the environment once.
#[cold]
fn init() {
    INIT.call_once(|| {
        crate::logger::init();
        let flag = |name: &str| matches!(std::env::var(name).as_deref().map(str::trim), Ok("1" | "yes" | "on" | "true"));
        let on = flag("MPIVE_PIPELINE");
        PIPELINE_ALLREDUCE.store(flag("MPIVE_PIPELINE_ALLREDUCE"), Relaxed);
        if let Some(t) = env_size("MPIVE_PIPELINE_THRESHOLD") {
            THRESHOLD.store(clamp_threshold(t), Relaxed);
        }
        if let Some(c) = env_size("MPIVE_PIPELINE_CHUNK") {
            CHUNK.store(clamp_chunk(c), Relaxed);
        }
        if let Some(l) = env_size("MPIVE_STAGING_LIMIT") {
            STAGING_LIMIT.store(l, Relaxed);
        }
        PIPELINE.store(if on { 2 } else { 1 }, Relaxed);
    });
}

fn clamp_threshold(t: u64) -> u64 {
    t.max(MIN_THRESHOLD)
}

fn clamp_chunk(c: u64) -> u64 {
    // whole pages, so that chunks of a page-aligned buffer stay page-aligned
    (c.clamp(MIN_CHUNK, MAX_CHUNK) + 4095) & !4095
}

/// Whether the pipelined protocol is on (`MPIVE_PIPELINE=1`).
#[inline]
pub fn pipeline() -> bool {
    match PIPELINE.load(Relaxed) {
        0 => {
            init();
            PIPELINE.load(Relaxed) == 2
        }
        s => s == 2,
    }
}

/// Whether VE sends use the protocol (on by default in pipelined mode; the benchmark switches it
/// to compare). Receives always understand it in pipelined mode.
#[inline]
pub fn pipeline_send() -> bool {
    pipeline() && PIPELINE_SEND.load(Relaxed)
}

/// Whether large Allreduces are split (MPIVE_PIPELINE_ALLREDUCE=1, in pipelined mode).
#[inline]
pub fn pipeline_allreduce() -> bool {
    pipeline_send() && PIPELINE_ALLREDUCE.load(Relaxed)
}

#[inline]
pub fn threshold() -> u64 {
    init_once();
    THRESHOLD.load(Relaxed)
}

#[inline]
pub fn chunk() -> u64 {
    init_once();
    CHUNK.load(Relaxed)
}

#[inline]
pub fn staging_limit() -> u64 {
    init_once();
    STAGING_LIMIT.load(Relaxed)
}

#[inline]
fn init_once() {
    if PIPELINE.load(Relaxed) == 0 {
        init();
    }
}

/// `mpive_set_tunable`: false for an unknown or read-only name.
pub fn set(name: &str, v: u64) -> bool {
    init_once();
    match name {
        "pipeline_send" => PIPELINE_SEND.store(v != 0, Relaxed),
        "pipeline_allreduce" => PIPELINE_ALLREDUCE.store(v != 0, Relaxed),
        "pipeline_threshold" => THRESHOLD.store(clamp_threshold(v), Relaxed),
        "pipeline_chunk" => CHUNK.store(clamp_chunk(v), Relaxed),
        "staging_limit" => STAGING_LIMIT.store(v, Relaxed),
        _ => return false,
    }
    true
}

/// `mpive_get_tunable`.
pub fn get(name: &str) -> Option<u64> {
    init_once();
    Some(match name {
        "pipeline" => pipeline() as u64,
        "pipeline_send" => PIPELINE_SEND.load(Relaxed) as u64,
        "pipeline_allreduce" => PIPELINE_ALLREDUCE.load(Relaxed) as u64,
        "pipeline_threshold" => THRESHOLD.load(Relaxed),
        "pipeline_min_threshold" => MIN_THRESHOLD,
        "pipeline_chunk" => CHUNK.load(Relaxed),
        "staging_limit" => STAGING_LIMIT.load(Relaxed),
        _ => return None,
    })
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
    }

    #[test]
    fn clamps() {
        assert_eq!(clamp_threshold(1), MIN_THRESHOLD);
        assert_eq!(clamp_chunk(1), MIN_CHUNK);
        assert_eq!(clamp_chunk(5000), 8192);
        assert_eq!(clamp_chunk(1 << 40), MAX_CHUNK);
        assert!(get("nonsense").is_none());
        assert!(!set("pipeline", 1), "the mode is fixed at start");
    }

    /// The defaults on the VE Type 10B figures (12.4 µs per copy on average, 10 GB/s): a chunk uses the
    /// link at 85 % or more, and a pipelined message has at least two chunks.
    #[test]
    fn defaults_fit_the_type10b_link() {
        let (l_us, bytes_per_us) = (12.4, 10e3);
        let c = DEFAULT_CHUNK as f64 / bytes_per_us;
        assert!(c / (l_us + c) >= 0.85, "{}", c / (l_us + c));
        const { assert!(DEFAULT_THRESHOLD >= 2 * DEFAULT_CHUNK) };
        assert_eq!(clamp_chunk(DEFAULT_CHUNK), DEFAULT_CHUNK);
        assert_eq!(clamp_threshold(DEFAULT_THRESHOLD), DEFAULT_THRESHOLD);
    }
}
