//! mosquitto in a temp dir on a free loopback port.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_tcp_port, temp_dir};

/// How long [`Mosquitto::start`] and [`Mosquitto::restart`] wait for the listener.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// What mosquitto logs once its listeners are open (`mosquitto version 2.0.11 running`).
const RUNNING: &str = " running";

/// A mosquitto of its own: config, log and port belong to this value; dropping it kills the
/// process and removes its directory.
#[derive(Debug)]
pub struct Mosquitto {
    exe: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// The mosquitto executable: `LUMI_MOSQUITTO`, else `mosquitto` on `PATH`, else
/// `/usr/sbin/mosquitto` (Debian's place, often not on a user's `PATH`).
pub fn mosquitto_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LUMI_MOSQUITTO").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("mosquitto"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/mosquitto");
        sbin.is_file().then_some(sbin)
    })
}

/// A started [`Mosquitto`], or `None` with a skip line on stderr when mosquitto is not
/// installed. With `LUMI_REQUIRE_MOSQUITTO=1` a missing mosquitto is a failure instead.
///
/// # Panics
///
/// When mosquitto is required and missing, or installed but does not start.
pub fn mosquitto_or_skip() -> Option<Mosquitto> {
    mosquitto_with_or_skip(|_| Ok(String::new()))
}

/// Like [`mosquitto_or_skip`], with extra configuration: see [`Mosquitto::start_with`].
pub fn mosquitto_with_or_skip(extra: impl Fn(&Path) -> io::Result<String>) -> Option<Mosquitto> {
    if mosquitto_path().is_none() {
        assert!(
            std::env::var("LUMI_REQUIRE_MOSQUITTO").as_deref() != Ok("1"),
            "LUMI_REQUIRE_MOSQUITTO=1 but mosquitto is not installed: apt-get install mosquitto (or set LUMI_MOSQUITTO to its path)"
        );
        eprintln!(
            "skipped: mosquitto is not installed (apt-get install mosquitto, or set LUMI_MOSQUITTO)"
        );
        return None;
    }
    Some(Mosquitto::start_with(extra).unwrap_or_else(|e| panic!("mosquitto does not start: {e}")))
}

impl Mosquitto {
    /// Starts mosquitto on a free port of 127.0.0.1 (anonymous access, no persistence) and
    /// waits until it accepts connections.
    pub fn start() -> io::Result<Mosquitto> {
        Mosquitto::start_with(|_| Ok(String::new()))
    }

    /// Like [`Mosquitto::start`], with configuration lines appended to the file (they apply to
    /// the listener: TLS files, `require_certificate`, `password_file`, …). `extra` gets the
    /// instance's directory to write files there (password file, certificates) and returns the
    /// lines; it runs again for each port tried.
    pub fn start_with(extra: impl Fn(&Path) -> io::Result<String>) -> io::Result<Mosquitto> {
        let exe = mosquitto_path().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "mosquitto is not installed (apt-get install mosquitto, or set LUMI_MOSQUITTO)",
            )
        })?;
        let mut last = None;
        // The port is picked before mosquitto binds it: another process may take it
        // meanwhile, so try a few.
        for _ in 0..3 {
            let dir = temp_dir("mosquitto")?;
            let port = free_tcp_port();
            let mut m = Mosquitto {
                exe: exe.clone(),
                dir,
                port,
                child: None,
            };
            let lines = extra(&m.dir)?;
            m.write_config(&lines)?;
            match m.spawn_and_wait() {
                Ok(()) => return Ok(m),
                Err(e) => {
                    let taken = m.log().contains("Address already in use");
                    last = Some(e);
                    if !taken {
                        break;
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("mosquitto did not start")))
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// Its URL, `mqtt://127.0.0.1:<port>` (for `mqtt.url`).
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Its directory (config, log, files written by `start_with`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills it (SIGKILL: no goodbye to clients, as in a crash) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it if running, then starts it again on the same port with the same
    /// configuration (no persistence: retained messages and sessions are gone) and waits until
    /// it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn_and_wait()
    }

    /// Its log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    fn write_config(&self, extra: &str) -> io::Result<()> {
        let log = self.dir.join("mosquitto.log");
        let config = format!(
            "# written by lumi_bridge::testkit\n\
             # stays root when run as root (mosquitto would switch to the user mosquitto, which\n\
             # cannot write this directory); ignored otherwise\n\
             user root\n\
             per_listener_settings false\n\
             allow_anonymous true\n\
             persistence false\n\
             log_dest file {log}\n\
             log_type error\n\
             log_type warning\n\
             log_type notice\n\
             log_type information\n\
             connection_messages true\n\
             max_queued_messages 200000\n\
             listener {port} 127.0.0.1\n\
             {extra}\n",
            log = log.display(),
            port = self.port,
        );
        std::fs::write(self.dir.join("mosquitto.conf"), config)
    }

    /// Spawns the process and waits until it is ready: its log says `running` once more (it
    /// opened its listener: a connection that works before that may reach another broker that
    /// took the port meanwhile) and the port accepts a TCP connection. Polls with a deadline;
    /// fails with its log if it exits.
    fn spawn_and_wait(&mut self) -> io::Result<()> {
        let runs_before = self.log().matches(RUNNING).count();
        let child = Command::new(&self.exe)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot run {}: {e}", self.exe.display()))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "mosquitto exited ({status}) on port {}; its log:\n{}",
                    self.port,
                    self.log()
                )));
            }
            if self.log().matches(RUNNING).count() > runs_before
                && TcpStream::connect_timeout(&self.addr(), Duration::from_millis(100)).is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "mosquitto did not start on port {} within {READY_TIMEOUT:?}; its log:\n{}",
                        self.port,
                        self.log()
                    ),
                ));
            }
            // Polling a condition with a deadline: mosquitto starts within milliseconds.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
