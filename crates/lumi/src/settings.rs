//! The effective settings of one `lumi` run: command line, then environment, then the config
//! file, then defaults.
//!
//! ## The config file (`lumi.toml`)
//!
//! ```toml
//! interface = "eth0"            # name, IPv4 address, or "auto" (the one facing the gateway)
//! password = "0987654321qwerty" # default LAN password for gateways without their own
//! timeout = "3s"
//!
//! [[gateway]]
//! sid = "34ce0088db0b"          # optional when ip is given
//! ip = "192.168.1.20"           # optional when sid is given; "ip" or "ip:port"
//! password = "0987654321qwerty" # this gateway's LAN password
//! protocol = "auto"             # auto, v1 or v2
//! miio_token = "1c1961595b889a1f42af6b16cf9a6b81"  # for `lumi miio` and push events
//! ```
//!
//! The bridge's sections (`[mqtt]`, `[bridge]`, `[homeassistant]`, `[web]`, `[[device]]`) may be in the
//! same file; the command-line tools ignore them. Anything else is an error that names the key.
//! The file is looked for at `--config`, `LUMI_CONFIG`, then `$XDG_CONFIG_HOME/lumi/lumi.toml`
//! (or `~/.config/lumi/lumi.toml`); only an explicitly named file must exist.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::MiioToken;
use serde::Deserialize;

use crate::cli::Global;
use crate::exit::bad_input;

/// The gateway command port (`ip:9898`).
pub const COMMAND_PORT: u16 = 9898;
/// How long commands wait by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// One gateway the user told us about (`--gateway` or a `[[gateway]]` table).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayEntry {
    /// Its sid, if given.
    pub sid: Option<Sid>,
    /// Its command address, if given (port 9898 unless named).
    pub addr: Option<SocketAddr>,
    /// Its own LAN password (redacted in `Debug`).
    pub password: Option<GatewayPassword>,
    /// Its protocol, when forced (`None` = detect).
    pub protocol: Option<ProtoVersion>,
    /// Its miIO token (redacted in `Debug`).
    pub miio_token: Option<MiioToken>,
}

/// Everything a network command needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The multicast interface as given (name, address or `auto`); `None` = not given.
    pub interface: Option<String>,
    /// Gateways given by the user (possibly none: discovery then finds them).
    pub gateways: Vec<GatewayEntry>,
    /// The default LAN password (redacted in `Debug`).
    pub password: Option<GatewayPassword>,
    /// How long to wait for answers.
    pub timeout: Duration,
    /// JSON lines instead of text.
    pub json: bool,
    /// `whois` port.
    pub discovery_port: u16,
    /// Report and heartbeat port.
    pub report_port: u16,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl Settings {
    /// The password for a gateway: its own, else the default.
    pub fn password_for(
        &self,
        sid: Option<&Sid>,
        addr: Option<IpAddr>,
    ) -> Option<&GatewayPassword> {
        self.gateway(sid, addr)
            .and_then(|g| g.password.as_ref())
            .or(self.password.as_ref())
    }

    /// The configured entry matching a sid or an address.
    pub fn gateway(&self, sid: Option<&Sid>, addr: Option<IpAddr>) -> Option<&GatewayEntry> {
        self.gateways.iter().find(|g| {
            (sid.is_some() && g.sid.as_ref() == sid)
                || (addr.is_some() && g.addr.map(|a| a.ip()) == addr)
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    interface: Option<String>,
    password: Option<String>,
    /// A text (`"3s"`) or whole seconds (`3`), as every other duration of the file.
    timeout: Option<toml::Value>,
    #[serde(default)]
    gateway: Vec<FileGateway>,
    // The bridge's sections: read by `lumi bridge`, ignored here.
    #[allow(dead_code)]
    mqtt: Option<toml::Table>,
    #[allow(dead_code)]
    bridge: Option<toml::Table>,
    #[allow(dead_code)]
    homeassistant: Option<toml::Table>,
    #[allow(dead_code)]
    web: Option<toml::Table>,
    #[allow(dead_code)]
    device: Option<Vec<toml::Table>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGateway {
    sid: Option<String>,
    ip: Option<String>,
    password: Option<String>,
    protocol: Option<String>,
    miio_token: Option<String>,
}

/// Where the config file is looked for when neither `--config` nor `LUMI_CONFIG` names one.
pub fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("lumi").join("lumi.toml"))
}

/// Parses `ip` or `ip:port` (port 9898 by default).
pub fn parse_gateway_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, COMMAND_PORT))
        .map_err(|_| {
            format!(
                "{s:?} is not an IP address or IP:PORT (e.g. 192.168.1.20 or 192.168.1.20:9898)"
            )
        })
}

/// Parses a gateway or device sid: hex digits as `lumi discover` / `lumi devices` show them.
pub fn parse_sid(s: &str) -> Result<Sid, String> {
    let t = s.trim();
    let hex = t.strip_prefix("lumi.").unwrap_or(t);
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{:?} is not a sid (hex digits such as 34ce0088db0b or 158d0001a2b3c4; `lumi discover` and `lumi devices` show them)",
            lumi_proto::sanitize::truncated(t, 40)
        ));
    }
    hex.parse::<Sid>().map_err(|e| e.to_string())
}

/// Parses a duration such as `500ms`, `3s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    lumi_sim::scenario::parse_duration(s)
}

fn password(s: &str, what: &str) -> anyhow::Result<GatewayPassword> {
    s.parse()
        .map_err(|e| bad_input(format!("{what}: {e} (the gateway's 16-character LAN password, from the Mi Home app: gateway > About > LAN communication protocol)")))
}

impl FileGateway {
    fn into_entry(self, i: usize, file: &Path) -> anyhow::Result<GatewayEntry> {
        let at = |key: &str| format!("{}: gateway[{}].{key}", file.display(), i + 1);
        if self.sid.is_none() && self.ip.is_none() {
            return Err(bad_input(format!(
                "{}: gateway[{}] needs a sid or an ip",
                file.display(),
                i + 1
            )));
        }
        Ok(GatewayEntry {
            sid: self
                .sid
                .map(|s| parse_sid(&s).map_err(|e| bad_input(format!("{}: {e}", at("sid")))))
                .transpose()?,
            addr: self
                .ip
                .map(|s| {
                    parse_gateway_addr(&s).map_err(|e| bad_input(format!("{}: {e}", at("ip"))))
                })
                .transpose()?,
            password: self
                .password
                .map(|p| password(&p, &at("password")))
                .transpose()?,
            protocol: match self.protocol.as_deref() {
                None | Some("auto") => None,
                Some(p) => Some(p.parse::<ProtoVersion>().map_err(|e| {
                    bad_input(format!("{}: {e} (use auto, v1 or v2)", at("protocol")))
                })?),
            },
            miio_token: self
                .miio_token
                .map(|t| {
                    t.parse::<MiioToken>()
                        .map_err(|e| bad_input(format!("{}: {e}", at("miio_token"))))
                })
                .transpose()?,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    warn_if_world_readable(path, &text);
    // lumi-bridge's rendering of the error: toml's own quotes the line, secrets included.
    toml::from_str(&text).map_err(|e| {
        let e = lumi_bridge::ConfigError::from_toml_error(&text, &e);
        bad_input(format!("config file {}: {e}", path.display()))
    })
}

/// Passwords and tokens in a file anyone on the machine can read deserve a warning (once per
/// process: `lumi bridge` reads the file twice).
pub(crate) fn warn_if_world_readable(path: &Path, text: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        static WARNED: AtomicBool = AtomicBool::new(false);
        let secret = text.contains("password") || text.contains("token");
        if let Ok(meta) = std::fs::metadata(path)
            && secret
            && meta.permissions().mode() & 0o004 != 0
            && !WARNED.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "config file {} holds passwords or tokens and is readable by every user; run: chmod 600 {}",
                path.display(),
                path.display()
            );
        }
    }
}

/// Resolves the global options and the config file into [`Settings`].
pub fn resolve(g: &Global) -> anyhow::Result<Settings> {
    let (file, config_file) = match &g.config {
        Some(p) => (read_file(p)?, Some(p.clone())),
        None => match default_config_path().filter(|p| p.is_file()) {
            Some(p) => (read_file(&p)?, Some(p)),
            None => (FileConfig::default(), None),
        },
    };
    let file_name = config_file.clone().unwrap_or_default();
    let mut gateways = Vec::new();
    for (i, fg) in file.gateway.into_iter().enumerate() {
        gateways.push(fg.into_entry(i, &file_name)?);
    }
    // `--gateway` addresses: merge with a config entry for the same IP, else add one.
    for s in &g.gateway {
        let addr = parse_gateway_addr(s).map_err(|e| bad_input(format!("--gateway: {e}")))?;
        match gateways
            .iter_mut()
            .find(|e| e.addr.map(|a| a.ip()) == Some(addr.ip()))
        {
            Some(e) => e.addr = Some(addr),
            None => gateways.push(GatewayEntry {
                addr: Some(addr),
                ..GatewayEntry::default()
            }),
        }
    }
    let password = match (&g.password, &file.password) {
        (Some(p), _) => Some(password(p, "--password")?),
        (None, Some(p)) => Some(password(p, &format!("{}: password", file_name.display()))?),
        (None, None) => None,
    };
    if g.password.is_some() {
        // Documented (docs/configuration.md), but easy to forget when a new password is tried
        // on the command line: say which gateways keep their own.
        for e in gateways.iter().filter(|e| e.password.is_some()) {
            tracing::warn!(
                "gateway {} keeps its own password from {}, not the one from --password or LUMI_PASSWORD",
                gateway_name(e.sid.as_ref(), e.addr),
                file_name.display()
            );
        }
    }
    let timeout = match (&g.timeout, &file.timeout) {
        (Some(t), _) => parse_duration(t).map_err(|e| bad_input(format!("--timeout: {e}")))?,
        (None, Some(t)) => {
            let bad = |e: String| bad_input(format!("{}: timeout: {e}", file_name.display()));
            match t {
                toml::Value::String(s) => parse_duration(s).map_err(|e| bad(e.to_string()))?,
                toml::Value::Integer(n) => u64::try_from(*n)
                    .map(Duration::from_secs)
                    .map_err(|_| bad(format!("{n} is negative: give a duration such as \"3s\"")))?,
                other => {
                    return Err(bad(format!(
                        "{} is not a duration: give one such as \"3s\" or a number of seconds",
                        other.type_str()
                    )));
                }
            }
        }
        (None, None) => DEFAULT_TIMEOUT,
    };
    if timeout.is_zero() {
        return Err(bad_input("--timeout: must be more than 0 (e.g. 3s)"));
    }
    Ok(Settings {
        interface: g.interface.clone().or(file.interface),
        gateways,
        password,
        timeout,
        json: g.json,
        discovery_port: g.discovery_port.unwrap_or(4321),
        report_port: g.report_port.unwrap_or(9898),
        config_file,
    })
}

/// A configured gateway as the logs name it: its sid, else its address.
pub fn gateway_name(sid: Option<&Sid>, addr: Option<SocketAddr>) -> String {
    match (sid, addr) {
        (Some(sid), _) => sid.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => "(no sid or address)".to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn global() -> Global {
        Global {
            interface: None,
            gateway: vec![],
            password: None,
            config: None,
            timeout: None,
            json: false,
            discovery_port: None,
            report_port: None,
        }
    }

    pub(crate) fn file(text: &str) -> (tempdir::Dir, PathBuf) {
        let d = tempdir::Dir::new();
        let p = d.0.join("lumi.toml");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        (d, p)
    }

    /// A directory removed on drop (no extra crate for one test helper).
    pub(crate) mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "lumi-settings-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn defaults_without_file_or_flags() {
        let mut g = global();
        g.config = Some(PathBuf::from("/nonexistent/lumi.toml"));
        let err = resolve(&g).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/lumi.toml"), "{err}");
    }

    #[test]
    fn file_values_and_command_line_precedence() {
        let (_d, p) = file(
            r#"
interface = "eth0"
password = "0987654321qwerty"
timeout = "5s"
[mqtt]
url = "mqtt://localhost"
[web]
listen = "127.0.0.1:8100"
[[gateway]]
sid = "34ce0088db0b"
ip = "192.168.1.20"
password = "aaaaaaaaaaaaaaaa"
protocol = "v2"
miio_token = "1c1961595b889a1f42af6b16cf9a6b81"
[[gateway]]
ip = "192.168.1.21:9999"
"#,
        );
        let mut g = global();
        g.config = Some(p);
        let s = resolve(&g).unwrap();
        assert_eq!(s.interface.as_deref(), Some("eth0"));
        assert_eq!(s.timeout, Duration::from_secs(5));
        // Whole seconds work too, as in every other duration of the file.
        let (_d2, p2) = file("timeout = 7\n");
        let mut g2 = global();
        g2.config = Some(p2);
        assert_eq!(resolve(&g2).unwrap().timeout, Duration::from_secs(7));
        assert_eq!(s.gateways.len(), 2);
        assert_eq!(s.gateways[0].protocol, Some(ProtoVersion::V2));
        assert_eq!(
            s.gateways[1].addr,
            Some("192.168.1.21:9999".parse().unwrap())
        );
        // The password of the gateway with its own (by sid), and of the one without (by IP).
        let sid: Sid = "34ce0088db0b".parse().unwrap();
        let passwords = |s: &Settings| {
            [
                s.password_for(Some(&sid), None),
                s.password_for(None, Some("192.168.1.21".parse().unwrap())),
            ]
            .map(|p| p.map(|p| p.expose().to_owned()))
        };
        assert_eq!(
            passwords(&s),
            [
                Some("aaaaaaaaaaaaaaaa".into()),
                Some("0987654321qwerty".into())
            ]
        );
        // --password replaces the default; a gateway's own password stays (documented in
        // docs/configuration.md).
        g.password = Some("bbbbbbbbbbbbbbbb".into());
        assert_eq!(
            passwords(&resolve(&g).unwrap()),
            [
                Some("aaaaaaaaaaaaaaaa".into()),
                Some("bbbbbbbbbbbbbbbb".into())
            ]
        );
        g.password = None;
        // The command line wins, and --gateway merges with the entry of the same IP.
        g.interface = Some("lo".into());
        g.timeout = Some("250ms".into());
        g.gateway = vec!["192.168.1.20:9000".into(), "10.0.0.9".into()];
        let s = resolve(&g).unwrap();
        assert_eq!(s.interface.as_deref(), Some("lo"));
        assert_eq!(s.timeout, Duration::from_millis(250));
        assert_eq!(s.gateways.len(), 3);
        assert_eq!(
            s.gateways[0].addr,
            Some("192.168.1.20:9000".parse().unwrap())
        );
        assert_eq!(s.gateways[2].addr, Some("10.0.0.9:9898".parse().unwrap()));
    }

    #[test]
    fn mistakes_name_the_key() {
        for (text, want) in [
            ("intreface = \"eth0\"", "intreface"),
            (
                "[[gateway]]\nsid = \"34ce0088db0b\"\npasword = \"x\"",
                "pasword",
            ),
            ("[[gateway]]\nip = \"192.168.1\"", "gateway[1].ip"),
            ("[[gateway]]\nsid = \"xyz\"", "gateway[1].sid"),
            (
                "[[gateway]]\nsid = \"34ce0088db0b\"\npassword = \"short\"",
                "gateway[1].password",
            ),
            (
                "[[gateway]]\nip = \"10.0.0.1\"\nprotocol = \"v3\"",
                "gateway[1].protocol",
            ),
            (
                "[[gateway]]\nip = \"10.0.0.1\"\nmiio_token = \"zz\"",
                "gateway[1].miio_token",
            ),
            ("[[gateway]]\nprotocol = \"v1\"", "needs a sid or an ip"),
            ("timeout = \"3 weeks\"", "timeout"),
            ("timeout = true", "timeout"),
            ("timeout = -3", "timeout"),
            ("password = 12", "password"),
        ] {
            let (_d, p) = file(text);
            let mut g = global();
            g.config = Some(p);
            let err = resolve(&g).unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.contains(want), "{text:?}: {msg}");
            assert!(msg.contains("lumi.toml"), "{text:?} names the file: {msg}");
            assert_eq!(
                crate::exit::code_for(&err),
                crate::exit::BAD_INPUT,
                "{text:?}"
            );
        }
    }

    #[test]
    fn bad_flags_are_bad_input_and_secrets_stay_out_of_errors() {
        let mut g = global();
        g.password = Some("sixteen-but-bad!x".into());
        let err = format!("{:#}", resolve(&g).unwrap_err());
        assert!(err.contains("--password"), "{err}");
        assert!(!err.contains("sixteen-but-bad!x"), "password leaked: {err}");
        let mut g = global();
        g.gateway = vec!["gw.local".into()];
        assert!(format!("{:#}", resolve(&g).unwrap_err()).contains("gw.local"));
        let mut g = global();
        g.timeout = Some("0s".into());
        assert!(format!("{:#}", resolve(&g).unwrap_err()).contains("--timeout"));
    }

    /// Found reviewing the readers of `lumi.toml` after the `config` fuzz target's findings:
    /// the command-line tools showed toml's own error, which quotes the line (a password on
    /// it) and a secret of the wrong type.
    #[test]
    fn config_file_errors_do_not_show_secrets() {
        for (text, secret) in [
            ("password = \"0987654321qwerty\" x", "0987654321qwerty"),
            (
                "[[gateway]]\nip = \"10.0.0.1\"\nmiio_token = 1234567890123",
                "1234567890123",
            ),
            ("[mqtt]\npassword = \"hunter2-mqtt", "hunter2-mqtt"),
        ] {
            let (_d, p) = file(text);
            let mut g = global();
            g.config = Some(p);
            let err = resolve(&g).unwrap_err();
            let msg = format!("{err:#} {err:?}");
            assert!(!msg.contains(secret), "{text:?} leaks {secret}: {msg}");
            assert!(msg.contains("lumi.toml"), "{msg}");
        }
    }

    #[test]
    fn debug_redacts_passwords_and_tokens() {
        let (_d, p) = file(
            "password = \"0987654321qwerty\"\n[[gateway]]\nip = \"10.0.0.1\"\nmiio_token = \"1c1961595b889a1f42af6b16cf9a6b81\"",
        );
        let mut g = global();
        g.config = Some(p);
        let dbg = format!("{:?}", resolve(&g).unwrap());
        assert!(!dbg.contains("0987654321qwerty"), "{dbg}");
        assert!(!dbg.contains("1c1961595b889a1f42af6b16cf9a6b81"), "{dbg}");
    }
}
