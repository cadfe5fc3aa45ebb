//! Test helpers (feature `testkit`): a private mosquitto per test and a recording MQTT
//! subscriber, shared by lumi-bridge's tests and the binary's end-to-end tests.
//!
//! - [`Mosquitto`]: mosquitto on a free loopback port with its config and log in a fresh temp
//!   dir; [`Mosquitto::restart`] keeps the port, [`Mosquitto::kill`] simulates an outage. Found
//!   through `LUMI_MOSQUITTO`, else `PATH`, else `/usr/sbin/mosquitto`.
//! - [`mosquitto_or_skip`]: a started [`Mosquitto`], or `None` (the test prints a skip line and
//!   returns) when mosquitto is not installed, unless `LUMI_REQUIRE_MOSQUITTO=1`, which makes
//!   that a failure (CI sets it, so a missing broker never passes silently).
//! - [`Subscriber`]: an independent rumqttc client in its own thread that records every message
//!   in order, with waits on conditions (never sleeps) and a publish helper.
//! - [`http`]: a plain HTTP/1.1 client and reader of the dashboard's event stream.
//! - [`scripted`]: a broker whose test reads and writes the raw MQTT packets.
//!
//! Helpers panic with a clear message when the environment is broken (that is a failed test);
//! the waits return errors that list what was seen instead.

pub mod http;
mod mosquitto;
pub mod scripted;
mod subscriber;

pub use mosquitto::{Mosquitto, mosquitto_or_skip, mosquitto_path, mosquitto_with_or_skip};
pub use subscriber::{Message, Subscriber, TimedOut};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh, empty directory under the system's temp dir (`lumi-<what>-<pid>-<n>-<nanos>`).
/// The caller removes it.
pub fn temp_dir(what: &str) -> std::io::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "lumi-{what}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// A TCP port that was free on 127.0.0.1 a moment ago (for a process that must be told its
/// port up front; sockets the test binds itself use port 0).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot bind a TCP socket on 127.0.0.1: {e}"))
}
