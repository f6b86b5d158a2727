//! A small stderr logger for the `log` facade, switched on by `MPIVE_LOG=error|warn|info|debug|trace`
//! (off by default). Lines look like `libmpive[pid 1234]: warn: ...`.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::Once;

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if self.enabled(r.metadata()) {
            let line = format!("libmpive[pid {}]: {}: {}\n", std::process::id(), level_name(r.level()), r.args());
            // One write per line so that lines of different ranks and threads do not interleave.
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// Parses the value of MPIVE_LOG.
pub fn parse(v: &str) -> LevelFilter {
    match v.trim().to_ascii_lowercase().as_str() {
        "error" => LevelFilter::Error,
        "warn" | "warning" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => LevelFilter::Off,
    }
}

/// Installs the logger once; called on the first slow-path use of the shim, never at load time.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let level = std::env::var("MPIVE_LOG").map(|v| parse(&v)).unwrap_or(LevelFilter::Off);
        if log::set_logger(&Stderr).is_ok() {
            log::set_max_level(level);
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn levels() {
        use log::LevelFilter::*;
        assert_eq!(super::parse("WARN"), Warn);
        assert_eq!(super::parse("debug"), Debug);
        assert_eq!(super::parse(""), Off);
        assert_eq!(super::parse("verbose"), Off);
    }
}
