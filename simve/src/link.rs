//! The modeled PCIe link between host and VE (`SIMVE_BANDWIDTH`).
//!
//! Each direction of each VE process is a link that carries one transfer at a time at the configured
//! rate: a transfer of n bytes occupies it for n / rate, queued behind the transfers already on it.
//! The slot is reserved when the transfer starts, the copy itself (a memcpy) runs inside it, and the
//! caller then waits until the slot has passed: a transfer takes max(memcpy, n / rate), as a DMA
//! of n bytes would, not their sum. The wait sleeps (it costs no CPU, like a DMA), so copies on other
//! threads (veo_async_read_mem, veo_async_write_mem) overlap with the caller's work.

use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
pub enum Dir {
    VeToHost = 0,
    HostToVe = 1,
}

/// Bytes per second, or None for unlimited.
static RATE: Lazy<Option<f64>> = Lazy::new(|| parse_rate(&std::env::var("SIMVE_BANDWIDTH").ok()?));

/// Parses `10G`, `10GB/s`, `500M`, `1e9`.
pub fn parse_rate(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches("/s").trim_end_matches(['B', 'b']);
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1e3),
        'M' | 'm' => (&s[..s.len() - 1], 1e6),
        'G' | 'g' => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    let v = num.trim().parse::<f64>().ok()? * mult;
    (v > 0.0).then_some(v)
}

pub struct Link {
    rate: Option<f64>,
    busy_until: [Mutex<Option<Instant>>; 2],
}

/// A reserved slot on a link: [`Slot::finish`] waits until it has passed.
#[must_use]
pub struct Slot(Option<Instant>);

impl Link {
    /// A link at the rate of `SIMVE_BANDWIDTH`.
    pub fn new() -> Link {
        Link::with_rate(*RATE)
    }

    pub fn with_rate(rate: Option<f64>) -> Link {
        Link { rate, busy_until: [Mutex::new(None), Mutex::new(None)] }
    }

    /// Reserves the link for a transfer of `n` bytes in direction `dir` starting now (or when the
    /// transfers already on it have passed). Nothing to do on an unlimited link.
    #[inline]
    pub fn reserve(&self, dir: Dir, n: usize) -> Slot {
        let Some(rate) = self.rate else { return Slot(None) };
        let now = Instant::now();
        let mut busy = self.busy_until[dir as usize].lock();
        let start = busy.map_or(now, |b| b.max(now));
        let end = start + Duration::from_secs_f64(n as f64 / rate);
        *busy = Some(end);
        Slot(Some(end))
    }
}

impl Slot {
    /// Waits until the transfer's slot has passed.
    #[inline]
    pub fn finish(self) {
        if let Some(end) = self.0 {
            wait_until(end);
        }
    }
}

/// Waits until `end`: sleeping (a DMA costs the host no CPU), the last 60 µs yielding, so that late
/// wake-ups on a busy machine do not slow the modeled link. The waiting thread's timer slack is set
/// to 1 µs once (Linux's default of 50 µs would add up to 50 µs per transfer); only threads that wait
/// on the modeled link are affected, and only when SIMVE_BANDWIDTH is set.
fn wait_until(end: Instant) {
    thread_local! {
        static SLACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !SLACK.with(|s| s.replace(true)) {
        // SAFETY: prctl(PR_SET_TIMERSLACK) only changes this thread's timer slack.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
    }
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        let left = end - now;
        if left > Duration::from_micros(80) {
            // wake-ups come late on a busy machine: the last 60 µs are spent yielding
            std::thread::sleep(left - Duration::from_micros(60));
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_takes_its_size_over_the_rate_and_queues_behind_others() {
        let link = Link::with_rate(Some(100e6)); // 100 MB/s: 2 MB take 20 ms
        let t0 = Instant::now();
        let a = link.reserve(Dir::VeToHost, 2_000_000);
        let b = link.reserve(Dir::VeToHost, 2_000_000); // queued behind a
        let c = link.reserve(Dir::HostToVe, 2_000_000); // the other direction is free
        c.finish();
        let tc = t0.elapsed();
        a.finish();
        b.finish();
        let tb = t0.elapsed();
        assert!(tc >= Duration::from_millis(19), "{tc:?}");
        assert!(tb >= Duration::from_millis(39), "{tb:?}");
        assert!(Link::with_rate(None).reserve(Dir::VeToHost, 1 << 30).0.is_none(), "unlimited: no wait");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10G"), Some(10e9));
        assert_eq!(parse_rate("10GB/s"), Some(10e9));
        assert_eq!(parse_rate("500M"), Some(500e6));
        assert_eq!(parse_rate("1e9"), Some(1e9));
        assert_eq!(parse_rate("0"), None);
        assert_eq!(parse_rate("fast"), None);
    }
}
