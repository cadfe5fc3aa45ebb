//! The processes the bench runs (the bridge, mosquitto) and what `/proc` says about them.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A child process killed (and waited for) on drop.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub name: &'static str,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(15);
        lines[from..].join("\n")
    }

    /// An error if it has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            anyhow::bail!(
                "{} exited ({status}); its last log lines:\n{}",
                self.name,
                self.log_tail()
            );
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port that was free on 127.0.0.1 a moment ago.
pub fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("cannot bind a TCP socket on 127.0.0.1")?
        .local_addr()?
        .port())
}

/// A UDP port that was free on 127.0.0.1 a moment ago.
pub fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")
        .context("cannot bind a UDP socket on 127.0.0.1")?
        .local_addr()?
        .port())
}

/// Starts mosquitto from PATH (or /usr/sbin) on a free loopback port, without persistence and
/// with no per-client queue limit (so the broker never drops what the bridge published).
pub fn mosquitto(dir: &Path) -> anyhow::Result<(Proc, SocketAddr)> {
    let exe = which("mosquitto").context(
        "mosquitto is not installed (on Debian/Ubuntu: apt-get install mosquitto); or use \
         --broker embedded, or --mqtt URL for a broker already running on loopback",
    )?;
    let port = free_tcp_port()?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             max_queued_messages 0\nmax_inflight_messages 0\nset_tcp_nodelay true\nlog_dest stderr\n\
             log_type error\nlog_type warning\n"
        ),
    )?;
    let log = dir.join("mosquitto.log");
    let child = Command::new(&exe)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut p = Proc {
        child,
        log,
        name: "mosquitto",
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        p.check_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "mosquitto did not listen on {addr} within 5 s; its log:\n{}",
            p.log_tail()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((p, addr))
}

fn which(name: &str) -> Option<PathBuf> {
    // The test kit's override, for a mosquitto outside PATH.
    if let Some(p) = std::env::var_os("LUMI_MOSQUITTO").map(PathBuf::from)
        && p.is_file()
    {
        return Some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What `/proc` says about a process.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ProcStats {
    /// User + system CPU time, in seconds.
    pub cpu_s: f64,
    /// Peak resident set (VmHWM), in KiB.
    pub peak_rss_kib: u64,
    /// Resident set now (VmRSS), in KiB…
    pub rss_kib: u64,
    /// …of which anonymous memory (heap, stacks)…
    pub rss_anon_kib: u64,
    /// …and mapped files (the executable's pages in use, shared with other processes).
    pub rss_file_kib: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Threads.
    pub threads: u64,
}

/// Reads `/proc/<pid>/{stat,status,fd}`. Linux's USER_HZ is 100 on every architecture.
pub fn proc_stats(pid: u32) -> ProcStats {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at field 3 (state);
    // utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let cpu_s = (tick(11) + tick(12)) as f64 / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    ProcStats {
        cpu_s,
        peak_rss_kib: field("VmHWM:"),
        rss_kib: field("VmRSS:"),
        rss_anon_kib: field("RssAnon:"),
        rss_file_kib: field("RssFile:"),
        fds,
        threads: field("Threads:"),
    }
}

/// Datagrams the kernel dropped at the receive buffers of the UDP sockets bound to `port`
/// (the `drops` column of `/proc/<pid>/net/udp`), and what is queued there now.
pub fn udp_drops(pid: u32, port: u16) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/udp")).unwrap_or_default();
    let (mut drops, mut queued) = (0, 0);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = f
            .get(1)
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        if local_port != Some(port) {
            continue;
        }
        let rx_queue = f
            .get(4)
            .and_then(|q| q.split_once(':'))
            .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
            .unwrap_or(0);
        queued += rx_queue;
        drops += f.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
    }
    (drops, queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_stats_are_read() {
        let s = proc_stats(std::process::id());
        assert!(s.peak_rss_kib > 0 && s.rss_kib > 0, "{s:?}");
        assert!(s.peak_rss_kib >= s.rss_kib, "{s:?}");
        assert!(s.threads >= 1 && s.fds >= 3, "{s:?}");
    }

    #[test]
    fn drops_are_read_for_a_bound_port() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        // One datagram queued, none dropped.
        let t = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        t.send_to(b"x", ("127.0.0.1", port)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (drops, queued) = udp_drops(std::process::id(), port);
            assert_eq!(drops, 0);
            if queued > 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the datagram never showed as queued"
            );
            std::thread::yield_now();
        }
    }
}
