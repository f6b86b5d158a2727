//! The modeled PCIe link between host and VE (`SIMVE_BANDWIDTH`).
//!
//! Each direction of each VE process is a link that carries one transfer at a time at the configured
//! rate: a transfer of n bytes occupies it for n / rate, queued behind the transfers already on it.
//! The copy itself is a memcpy; the caller then waits until its slot on the link has passed.

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
    busy_until: [Mutex<Option<Instant>>; 2],
}

impl Link {
    pub fn new() -> Link {
        Link { busy_until: [Mutex::new(None), Mutex::new(None)] }
    }

    /// Waits until a transfer of `n` bytes in direction `dir`, issued now, would have finished.
    pub fn pace(&self, dir: Dir, n: usize) {
        let Some(rate) = *RATE else { return };
        let now = Instant::now();
        let end = {
            let mut busy = self.busy_until[dir as usize].lock();
            let start = busy.map_or(now, |b| b.max(now));
            let end = start + Duration::from_secs_f64(n as f64 / rate);
            *busy = Some(end);
            end
        };
        wait_until(end);
    }
}

fn wait_until(end: Instant) {
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        let left = end - now;
        if left > Duration::from_micros(80) {
            std::thread::sleep(left - Duration::from_micros(60));
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rate;
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
