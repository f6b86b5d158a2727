//! The modeled PCIe link between host and VE: a fixed cost per copy call (`SIMVE_LATENCY`) and a
//! rate (`SIMVE_BANDWIDTH`), or a named preset of published figures (`SIMVE_MODEL=type10b`).
//!
//! Each direction of each VE process is a channel of its own (a read and a write overlap; two reads
//! do not). A synchronous copy (`veo_read_mem`, `veo_write_mem`, `veo_hmemcpy`) of n bytes occupies
//! its channel for `latency + n / rate`, queued behind the transfers already on it. The slot is
//! reserved when the copy starts, the copy itself (a memcpy) runs inside it, and the caller then waits
//! until the slot has passed: a copy takes max(memcpy, latency + n / rate), as a DMA would, not their
//! sum. The wait sleeps (it costs no CPU, like a DMA), so copies on other threads overlap with the
//! caller's work.
//!
//! An asynchronous copy (`veo_async_read_mem`, `veo_async_write_mem`, completed by
//! `veo_call_wait_result`) is reserved when it is submitted, with [`Link::reserve_queued`]: its fixed
//! cost runs from the submission, beside the fixed costs of the other requests in the queue and the
//! bytes already on the channel, and only its bytes queue: on the channel, and behind the bytes of the
//! requests submitted before it on the same context (a context executes its requests in order, so a
//! read queued after a write does not overtake it, even though it uses the other channel). So k small requests
//! submitted together take about `latency + k × n / rate`, where k synchronous copies take
//! `k × (latency + n / rate)`. This is the model's assumption about AVEO's request queue (several
//! requests outstanding at once), stated in docs/performance.md; it is not a measurement.

use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::cell::Cell;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    VeToHost = 0,
    HostToVe = 1,
}

/// The link's parameters: per direction (indexed by [`Dir`]), bytes per second (None: unlimited)
/// and the fixed cost of one copy call.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct Model {
    pub rate: [Option<f64>; 2],
    pub latency: [Duration; 2],
}

/// VE Type 10B as published: AVEO's README measures 12.9 µs per `veo_read_mem` (VE->VH) and 11.9 µs
/// per `veo_write_mem` (VH->VE) of 1 byte; VEOS DMA reaches about 10 GB/s per direction for large
/// transfers. Sources in docs/performance.md.
pub const TYPE10B: Model = Model {
    rate: [Some(10e9), Some(10e9)],
    latency: [Duration::from_nanos(12_900), Duration::from_nanos(11_900)],
};

/// The model of the environment: `SIMVE_MODEL` (a preset), then `SIMVE_BANDWIDTH` and
/// `SIMVE_LATENCY`, which override the preset's values for both directions.
static MODEL: Lazy<Model> = Lazy::new(|| {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    model_from(var("SIMVE_MODEL").as_deref(), var("SIMVE_BANDWIDTH").as_deref(), var("SIMVE_LATENCY").as_deref())
        .unwrap_or_else(|e| {
            eprintln!("simve: {e}; the link is unlimited");
            Model::default()
        })
});

/// The model named by the three settings (each optional).
pub fn model_from(preset: Option<&str>, bandwidth: Option<&str>, latency: Option<&str>) -> Result<Model, String> {
    let mut m = match preset.map(|s| s.trim().to_ascii_lowercase()) {
        None => Model::default(),
        Some(p) if matches!(p.as_str(), "type10b" | "type10" | "10b" | "ve10b") => TYPE10B,
        Some(p) if matches!(p.as_str(), "none" | "off" | "memcpy") => Model::default(),
        Some(p) => return Err(format!("SIMVE_MODEL={p}: unknown preset (known: type10b, none)")),
    };
    if let Some(b) = bandwidth {
        // An unparsable or zero rate has always meant an unlimited link.
        let r = parse_rate(b);
        m.rate = [r, r];
    }
    if let Some(l) = latency {
        let d = parse_duration(l).ok_or_else(|| format!("SIMVE_LATENCY={l}: not a duration (e.g. 12us, 11.9us, 0.5ms)"))?;
        m.latency = [d, d];
    }
    Ok(m)
}

/// The model this process runs with (from the environment, read once).
pub fn model() -> Model {
    *MODEL
}

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

/// Parses `12us`, `11.9µs`, `800ns`, `0.5ms`, `0` (a unit is required for anything but 0).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ns") {
        (n, 1e-9)
    } else if let Some(n) = s.strip_suffix("us").or_else(|| s.strip_suffix("µs")) {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if s.parse::<f64>().ok() == Some(0.0) {
        (s, 0.0)
    } else {
        return None;
    };
    let v = num.trim().parse::<f64>().ok()?;
    (v >= 0.0 && v.is_finite() && v * scale < 10.0).then(|| Duration::from_secs_f64(v * scale))
}

pub struct Link {
    model: Model,
    busy_until: [Mutex<Option<Instant>>; 2],
}

/// A reserved slot on a link: [`Slot::finish`] waits until it has passed.
#[must_use]
pub struct Slot(Option<Instant>);

thread_local! {
    /// A slot reserved at submission for the copy this thread (a context's worker) executes now.
    static PREPAID: Cell<Option<Option<Instant>>> = const { Cell::new(None) };
}

impl Link {
    /// A link with the model of the environment.
    pub fn new() -> Link {
        Link::with_model(model())
    }

    /// A link at `rate` with no fixed cost (tests).
    #[cfg(test)]
    pub fn with_rate(rate: Option<f64>) -> Link {
        Link::with_model(Model { rate: [rate, rate], latency: [Duration::ZERO; 2] })
    }

    pub fn with_model(model: Model) -> Link {
        Link { model, busy_until: [Mutex::new(None), Mutex::new(None)] }
    }

    fn is_free(&self) -> bool {
        self.model.rate == [None, None] && self.model.latency == [Duration::ZERO; 2]
    }

    fn bytes_time(&self, dir: Dir, n: usize) -> Duration {
        self.model.rate[dir as usize].map_or(Duration::ZERO, |r| Duration::from_secs_f64(n as f64 / r))
    }

    /// Reserves the link for a synchronous copy of `n` bytes in direction `dir` starting now (or
    /// when the transfers already on the channel have passed): fixed cost plus bytes over the rate.
    /// On a context's worker, the slot reserved at submission instead (see [`Link::reserve_queued`]).
    #[inline]
    pub fn reserve(&self, dir: Dir, n: usize) -> Slot {
        if let Some(prepaid) = PREPAID.with(|p| p.take()) {
            return Slot(prepaid);
        }
        if self.is_free() {
            return Slot(None);
        }
        let now = Instant::now();
        let mut busy = self.busy_until[dir as usize].lock();
        let start = busy.map_or(now, |b| b.max(now));
        let end = start + self.model.latency[dir as usize] + self.bytes_time(dir, n);
        *busy = Some(end);
        Slot(Some(end))
    }

    /// Reserves the link for an asynchronous copy submitted now: its fixed cost runs from now,
    /// overlapping whatever is queued, and its bytes go on the channel once the fixed cost, the bytes
    /// ahead of them on the channel and the end of `after` (the slot of the request submitted before
    /// on the same context) have passed.
    pub fn reserve_queued(&self, dir: Dir, n: usize, after: Option<&Slot>) -> Slot {
        if self.is_free() {
            return Slot(None);
        }
        let mut ready = Instant::now() + self.model.latency[dir as usize];
        if let Some(Slot(Some(prev))) = after {
            ready = ready.max(*prev);
        }
        let mut busy = self.busy_until[dir as usize].lock();
        let start = busy.map_or(ready, |b| b.max(ready));
        let end = start + self.bytes_time(dir, n);
        *busy = Some(end);
        Slot(Some(end))
    }
}

impl Slot {
    /// No reservation (nothing to wait for).
    pub fn none() -> Slot {
        Slot(None)
    }

    /// A copy of the reservation (to order later requests of a context behind it).
    pub fn mark(&self) -> Slot {
        Slot(self.0)
    }

    /// Waits until the transfer's slot has passed.
    #[inline]
    pub fn finish(self) {
        if let Some(end) = self.0 {
            wait_until(end);
        }
    }

    /// Runs `f` with this slot standing in for the next [`Link::reserve`] on this thread: a queued
    /// copy executed by a context's worker pays what was reserved at submission, not a new slot.
    pub fn prepaid<R>(self, f: impl FnOnce() -> R) -> R {
        PREPAID.with(|p| p.set(Some(self.0)));
        let r = f();
        PREPAID.with(|p| p.set(None)); // unused when the copy failed before reserving
        r
    }
}

/// Waits until `end`: sleeping (a DMA costs the host no CPU), the last 60 µs yielding, so that late
/// wake-ups on a busy machine do not slow the modeled link. The waiting thread's timer slack is set
/// to 1 µs once (Linux's default of 50 µs would add up to 50 µs per transfer); only threads that wait
/// on the modeled link are affected, and only when a model is set (SIMVE_MODEL, SIMVE_BANDWIDTH,
/// SIMVE_LATENCY).
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
            std::hint::spin_loop();
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

    /// The end of a slot (the tests check the modeled times the reservations compute, so that a busy
    /// machine cannot fail them; waiting is checked only from below).
    fn end(s: &Slot) -> Instant {
        s.0.expect("a modeled link reserves")
    }

    #[test]
    fn a_copy_pays_the_fixed_cost_and_copies_in_one_direction_queue() {
        let m = Model { rate: [Some(1e9), Some(1e9)], latency: [Duration::from_millis(5); 2] };
        let link = Link::with_model(m);
        let t0 = Instant::now();
        let a = link.reserve(Dir::VeToHost, 1_000_000); // 5 ms + 1 ms
        let b = link.reserve(Dir::VeToHost, 8); // behind a: 5 ms more
        let before = Instant::now();
        let w = link.reserve(Dir::HostToVe, 8); // its own channel: 5 ms
        let after = Instant::now();
        assert!(end(&a) >= t0 + Duration::from_millis(6) && end(&a) <= before + Duration::from_millis(6));
        let gap = end(&b) - end(&a);
        assert!(gap >= Duration::from_millis(5) && gap < Duration::from_micros(5001), "two reads do not overlap: {gap:?}");
        assert!(end(&w) >= before + Duration::from_millis(5) && end(&w) <= after + Duration::from_micros(5001),
            "a write does not wait for reads");
        let tb = end(&b);
        w.finish();
        a.finish();
        b.finish();
        assert!(Instant::now() >= tb, "finish waits for the slot");
    }

    #[test]
    fn queued_copies_overlap_their_fixed_costs_and_share_the_channel() {
        let m = Model { rate: [Some(1e9), Some(1e9)], latency: [Duration::from_millis(5); 2] };
        let link = Link::with_model(m);
        let t0 = Instant::now();
        // ten 1 MB requests queued at once: 5 ms fixed cost (overlapped) + 10 x 1 ms of bytes
        let slots: Vec<Slot> = (0..10).map(|_| link.reserve_queued(Dir::HostToVe, 1_000_000, None)).collect();
        let after = Instant::now();
        let last = end(slots.last().unwrap());
        assert!(last >= t0 + Duration::from_millis(15), "{:?}", last - t0);
        assert!(last <= after + Duration::from_millis(15), "fixed costs overlap, not 10 x 6 ms: {:?}", last - t0);
        for s in slots {
            s.finish();
        }
        assert!(Instant::now() >= last);
        // a synchronous copy right after waits for the queued bytes, then pays its own fixed cost
        let q = link.reserve_queued(Dir::HostToVe, 2_000_000, None); // ready in 5 ms, bytes until 7 ms
        let s = link.reserve(Dir::HostToVe, 0); // 7 ms + 5 ms
        // a read queued after q on the same context: its bytes wait for q's, on the other channel
        let r = link.reserve_queued(Dir::VeToHost, 2_000_000, Some(&q)); // 7 ms + 2 ms
        assert_eq!(end(&s) - end(&q), Duration::from_millis(5));
        assert_eq!(end(&r) - end(&q), Duration::from_millis(2), "r's bytes follow q's");
        q.finish();
        s.finish();
        r.finish();
    }

    #[test]
    fn a_prepaid_slot_stands_in_for_the_next_reservation_on_this_thread() {
        let link = Link::with_model(Model { rate: [None; 2], latency: [Duration::from_millis(50); 2] });
        let t0 = Instant::now();
        let paid = Slot(Some(t0)).prepaid(|| link.reserve(Dir::VeToHost, 8));
        assert_eq!(paid.0, Some(t0), "the prepaid slot is used, not a new one");
        paid.finish();
        let before = Instant::now();
        let s = link.reserve(Dir::VeToHost, 8); // not prepaid any more
        assert!(end(&s) >= before + Duration::from_millis(50));
        s.finish();
        assert!(t0.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn models_from_the_environment() {
        assert_eq!(model_from(None, None, None), Ok(Model::default()));
        assert_eq!(model_from(Some("Type10B"), None, None), Ok(TYPE10B));
        let m = model_from(Some("type10b"), Some("5G"), Some("2us")).unwrap();
        assert_eq!(m.rate, [Some(5e9); 2]);
        assert_eq!(m.latency, [Duration::from_micros(2); 2]);
        let m = model_from(None, None, Some("12us")).unwrap();
        assert_eq!((m.rate, m.latency), ([None; 2], [Duration::from_micros(12); 2]));
        assert!(model_from(Some("type9"), None, None).unwrap_err().contains("unknown preset"));
        assert!(model_from(None, None, Some("12")).unwrap_err().contains("SIMVE_LATENCY=12"));
        assert_eq!(TYPE10B.latency[Dir::VeToHost as usize], Duration::from_nanos(12_900), "veo_read_mem");
        assert_eq!(TYPE10B.latency[Dir::HostToVe as usize], Duration::from_nanos(11_900), "veo_write_mem");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("12us"), Some(Duration::from_micros(12)));
        assert_eq!(parse_duration("11.9µs"), Some(Duration::from_nanos(11_900)));
        assert_eq!(parse_duration(" 800ns "), Some(Duration::from_nanos(800)));
        assert_eq!(parse_duration("0.5ms"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("12"), None, "a unit is required");
        assert_eq!(parse_duration("-1us"), None);
        assert_eq!(parse_duration("1h"), None);
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
