//! systemd's service notification protocol (`sd_notify(3)`), for `lumi bridge` under a
//! `Type=notify` unit with `WatchdogSec=`.
//!
//! systemd passes a datagram socket in `NOTIFY_SOCKET`: a path (`/run/systemd/notify`) or,
//! with a leading `@`, a Linux abstract socket name. The service sends newline-separated
//! `KEY=VALUE` assignments to it:
//!
//! ```text
//! READY=1
//! STATUS=bridging gateways on eth0 to mqtt://192.168.1.2:1883
//! ```
//!
//! `READY=1` once it serves, `WATCHDOG=1` at least every `WATCHDOG_USEC` microseconds while
//! it is healthy (systemd kills and, with `Restart=on-failure`, restarts it otherwise),
//! `STOPPING=1` when it shuts down, and `STATUS=` for `systemctl status`. Without
//! `NOTIFY_SOCKET` (not run by systemd) there is no [`Notifier`] and nothing is sent.
//!
//! Written on std's `UnixDatagram` (abstract names through
//! `std::os::linux::net::SocketAddrExt`), without `unsafe` and without a dependency.

use std::fmt;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to the service manager's notification socket.
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
    /// As given in `NOTIFY_SOCKET`, for messages.
    name: String,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("socket", &self.name)
            .finish()
    }
}

impl Notifier {
    /// The notifier systemd asks for through `NOTIFY_SOCKET`; `Ok(None)` when it is not set
    /// (or empty): the process was not started by systemd as a `Type=notify` service.
    pub fn from_env() -> io::Result<Option<Notifier>> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(v) if !v.is_empty() => {
                let v = v.into_string().map_err(|v| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("NOTIFY_SOCKET {v:?} is not UTF-8"),
                    )
                })?;
                Notifier::new(&v).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// A notifier for a socket name as `NOTIFY_SOCKET` gives it: an absolute path, or `@name`
    /// for an abstract socket (Linux).
    pub fn new(name: &str) -> io::Result<Notifier> {
        let addr = address(name)?;
        let socket = UnixDatagram::unbound()?;
        // Never hold up the daemon's runtime: a manager that does not read is reported as an
        // error (the caller logs it), not waited for.
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            socket,
            addr,
            name: name.to_owned(),
        })
    }

    /// Sends one message: assignments such as `READY=1`, one per line.
    pub fn notify(&self, message: &str) -> io::Result<()> {
        let n = self.socket.send_to_addr(message.as_bytes(), &self.addr)?;
        if n != message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {n} of {} bytes to {}", message.len(), self.name),
            ));
        }
        Ok(())
    }

    /// [`Notifier::notify`], and a warning in the log when it fails (the daemon goes on:
    /// systemd will notice what it misses).
    pub fn send(&self, message: &str) {
        if let Err(e) = self.notify(message) {
            let what = message.lines().next().unwrap_or_default();
            tracing::warn!("cannot notify systemd ({what}) on {}: {e}", self.name);
        }
    }
}

/// The socket address of a `NOTIFY_SOCKET` value.
fn address(name: &str) -> io::Result<SocketAddr> {
    let invalid = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("NOTIFY_SOCKET {name:?}: {why}"),
        )
    };
    if let Some(abstract_name) = name.strip_prefix('@') {
        if abstract_name.is_empty() {
            return Err(invalid("empty abstract socket name"));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(abstract_name.as_bytes());
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return Err(invalid("abstract sockets exist on Linux only"));
    }
    if !name.starts_with('/') {
        // What sd_notify(3) accepts too: systemd always passes an absolute path or `@…`.
        return Err(invalid("expected an absolute path or @name"));
    }
    SocketAddr::from_pathname(name)
}

/// `STATUS=` with a free text, on one line (a newline would start another assignment).
pub fn status(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("STATUS={line}")
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC` (as sd_watchdog_enabled(3)
/// advises), when it is set and meant for this process (`WATCHDOG_PID` absent or ours).
pub fn watchdog_interval() -> Result<Option<Duration>, String> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    parse_watchdog(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// [`watchdog_interval`] on given values.
pub fn parse_watchdog(
    usec: Option<&str>,
    pid: Option<&str>,
    my_pid: u32,
) -> Result<Option<Duration>, String> {
    let Some(usec) = usec.filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    if let Some(pid) = pid.filter(|p| !p.is_empty()) {
        let pid: u32 = pid
            .trim()
            .parse()
            .map_err(|_| format!("WATCHDOG_PID {pid:?} is not a process id"))?;
        if pid != my_pid {
            // Meant for another process (our parent's watchdog leaked into our environment).
            return Ok(None);
        }
    }
    let usec: u64 = usec
        .trim()
        .parse()
        .map_err(|_| format!("WATCHDOG_USEC {usec:?} is not a number of microseconds"))?;
    if usec == 0 {
        return Ok(None);
    }
    Ok(Some(Duration::from_micros(usec) / 2))
}

/// Pings the watchdog every `every` while `probe` says the daemon is alive; runs until
/// dropped.
///
/// Each round runs `probe` under a timeout of `every`: when it answers `Ok` in time,
/// `WATCHDOG=1` goes out; when it fails or hangs, the ping is skipped and a warning logged,
/// so that systemd, missing the pings, restarts a daemon that hangs.
pub async fn watchdog<P, F>(notifier: &Notifier, every: Duration, mut probe: P)
where
    P: FnMut() -> F,
    F: Future<Output = Result<(), String>>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match tokio::time::timeout(every, probe()).await {
            Ok(Ok(())) => notifier.send("WATCHDOG=1"),
            Ok(Err(e)) => {
                tracing::warn!("liveness probe failed ({e}): no watchdog ping to systemd");
            }
            Err(_) => tracing::warn!(
                "liveness probe got no answer within {every:?}: no watchdog ping to systemd"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_dir(name: &str) -> std::path::PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "lumi-systemd-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn recv(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// Everything already queued on the socket, without waiting.
    fn drain(sock: &UnixDatagram) -> Vec<String> {
        sock.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        while let Ok(n) = sock.recv(&mut buf) {
            out.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn sends_to_a_socket_path() {
        let dir = temp_dir("path");
        let path = dir.join("notify");
        let manager = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(path.to_str().unwrap()).unwrap();
        n.notify("READY=1\nSTATUS=up").unwrap();
        assert_eq!(recv(&manager), "READY=1\nSTATUS=up");
        n.notify("STOPPING=1").unwrap();
        assert_eq!(recv(&manager), "STOPPING=1");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("lumi-test-notify-{}", std::process::id());
        let manager =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let n = Notifier::new(&format!("@{name}")).unwrap();
        n.notify("WATCHDOG=1").unwrap();
        assert_eq!(recv(&manager), "WATCHDOG=1");
    }

    #[test]
    fn refuses_names_that_are_no_socket_address() {
        for bad in ["relative/notify", "@", "notify"] {
            let e = Notifier::new(bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(e.to_string().contains("NOTIFY_SOCKET"), "{e}");
        }
    }

    #[test]
    fn a_manager_that_is_gone_is_an_error_not_a_hang() {
        let dir = temp_dir("gone");
        let n = Notifier::new(dir.join("nobody").to_str().unwrap()).unwrap();
        assert!(n.notify("READY=1").is_err());
        n.send("READY=1"); // logs, does not panic
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(
            status("failed: 2 problems:\n  mqtt.url: bad\r\n  x"),
            "STATUS=failed: 2 problems:   mqtt.url: bad    x"
        );
    }

    #[test]
    fn watchdog_interval_is_half_of_watchdog_usec_for_this_process() {
        let half = Some(Duration::from_secs(15));
        assert_eq!(parse_watchdog(Some("30000000"), None, 7), Ok(half));
        assert_eq!(parse_watchdog(Some("30000000"), Some("7"), 7), Ok(half));
        assert_eq!(parse_watchdog(Some("30000000"), Some(""), 7), Ok(half));
        // Another process's watchdog, none set, or disabled.
        assert_eq!(parse_watchdog(Some("30000000"), Some("8"), 7), Ok(None));
        assert_eq!(parse_watchdog(None, Some("7"), 7), Ok(None));
        assert_eq!(parse_watchdog(Some(""), None, 7), Ok(None));
        assert_eq!(parse_watchdog(Some("0"), None, 7), Ok(None));
        assert_eq!(
            parse_watchdog(Some("200000"), None, 7),
            Ok(Some(Duration::from_millis(100)))
        );
        let e = parse_watchdog(Some("30s"), None, 7).unwrap_err();
        assert!(e.contains("WATCHDOG_USEC"), "{e}");
        let e = parse_watchdog(Some("1"), Some("me"), 7).unwrap_err();
        assert!(e.contains("WATCHDOG_PID"), "{e}");
    }

    /// A healthy probe: one ping per interval. A probe that fails or hangs: no ping, so
    /// systemd restarts the daemon. In virtual time.
    #[tokio::test(start_paused = true)]
    async fn watchdog_pings_only_while_the_probe_answers() {
        let dir = temp_dir("watchdog");
        let path = dir.join("notify");
        let manager = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(path.to_str().unwrap()).unwrap();
        let every = Duration::from_secs(15);

        // Healthy: the first ping at once, then one per interval.
        let healthy = watchdog(&n, every, || async { Ok(()) });
        let _ = tokio::time::timeout(every * 3 + every / 2, healthy).await;
        let pings = drain(&manager);
        assert_eq!(pings, vec!["WATCHDOG=1"; 4]);

        // Failing.
        let failing = watchdog(&n, every, || async { Err("driver gone".to_owned()) });
        let _ = tokio::time::timeout(every * 4, failing).await;
        assert_eq!(drain(&manager), Vec::<String>::new());

        // Hanging: the probe never answers.
        let hanging = watchdog(&n, every, std::future::pending::<Result<(), String>>);
        let _ = tokio::time::timeout(every * 4, hanging).await;
        assert_eq!(drain(&manager), Vec::<String>::new());

        // Recovers: pings again once the probe answers (here: every other round).
        let round = AtomicUsize::new(0);
        let flaky = watchdog(&n, every, || {
            let r = round.fetch_add(1, Ordering::Relaxed);
            async move {
                if r.is_multiple_of(2) {
                    Ok(())
                } else {
                    Err("busy".to_owned())
                }
            }
        });
        let _ = tokio::time::timeout(every * 3 + every / 2, flaky).await;
        assert_eq!(drain(&manager).len(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }
}
