//! The miIO server core: hello, checksum, decryption, duplicate ids, stamps, replies.

use std::collections::VecDeque;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lumi_proto::miio::{
    Cipher, DeviceId, HELLO, HelloReply, HelloToken, MiioToken, PacketError, RpcError, RpcMessage,
    RpcReply, RpcRequest,
};
use serde_json::{Value, json};

/// How long a request id is remembered: a request repeating one of these ids is dropped.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10);

/// How many recent ids are remembered at most (older ones are forgotten first).
pub const RECENT_IDS: usize = 64;

/// The error code real devices answer an unknown method with (`chuangmi.plug.v1`:
/// `{"code": -10000, "message": "Method not found."}`, al-one/hass-xiaomi-miot#13).
pub const METHOD_NOT_FOUND: i64 = -10000;

/// The error code for bad parameters (`-5001`, `invalid_arg`, python-miio#757 and others).
pub const INVALID_ARG: i64 = -5001;

/// A method failed: the `error` object of the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodError {
    /// The error code (`-10000`, `-5001`...).
    pub code: i64,
    /// The message.
    pub message: String,
}

impl MethodError {
    /// Any code and message.
    pub fn new(code: i64, message: impl Into<String>) -> MethodError {
        MethodError {
            code,
            message: message.into(),
        }
    }

    /// `-10000 "Method not found."`, what real devices answer an unknown method with.
    pub fn not_found() -> MethodError {
        MethodError::new(METHOD_NOT_FOUND, "Method not found.")
    }

    /// `-5001 "invalid_arg"`: the parameters do not fit the method.
    pub fn invalid_arg() -> MethodError {
        MethodError::new(INVALID_ARG, "invalid_arg")
    }
}

impl fmt::Display for MethodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "miio error {}: {:?}", self.code, self.message)
    }
}

impl std::error::Error for MethodError {}

/// What a method returns: the `result` value, or the `error`.
pub type MethodResult = Result<Value, MethodError>;

/// The device behind a [`MiioServer`]: executes requests.
pub trait MiioBackend {
    /// Executes `request` (any method but `miIO.info`, which the server answers itself) at
    /// `now`. Unknown methods should return [`MethodError::not_found`].
    fn call(&mut self, now: Instant, request: &RpcRequest) -> MethodResult;

    /// A reply arrived (an answer to something this device sent, e.g. the ack of a push).
    /// The default ignores it.
    fn on_reply(&mut self, now: Instant, reply: &RpcReply) {
        let _ = (now, reply);
    }
}

/// The static part of the `miIO.info` answer.
///
/// Field set and default values as a real `lumi.gateway.v3` answers (python-miio#650:
/// `life`, `cfg_time`, `token`, `mac`, `fw_ver`, `hw_ver`, `model`, `wifi_fw_ver`, `ap`,
/// `netif`, `mmfree`, `ot`, `otu_stat`, `ott_stat`) and python-miio's simulator
/// (`miio/devtools/simulators/common.py`). `life` is the uptime in seconds. The `token` member
/// is always 32 zeros, as python-miio's simulator sends it: the simulator never puts its
/// secret in a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiioInfo {
    /// `model`, e.g. `chuangmi.plug.m1`, `lumi.gateway.v3`.
    pub model: String,
    /// `fw_ver`.
    pub fw_ver: String,
    /// `hw_ver`.
    pub hw_ver: String,
    /// `mac`, `AA:BB:CC:DD:EE:FF`.
    pub mac: String,
    /// `netif.localIp`.
    pub ip: Ipv4Addr,
    /// `ap.ssid`.
    pub ssid: String,
    /// `ap.rssi`.
    pub rssi: i32,
}

impl MiioInfo {
    /// Info for `model` with python-miio simulator defaults (`1.2.4_16`, `MW300`).
    pub fn new(model: impl Into<String>, mac: impl Into<String>, ip: Ipv4Addr) -> MiioInfo {
        MiioInfo {
            model: model.into(),
            fw_ver: "1.2.4_16".into(),
            hw_ver: "MW300".into(),
            mac: mac.into(),
            ip,
            ssid: "lumi-sim".into(),
            rssi: -48,
        }
    }

    /// The `miIO.info` result after `uptime`.
    pub fn to_value(&self, uptime: Duration) -> Value {
        let o = self.ip.octets();
        json!({
            "life": uptime.as_secs(),
            "cfg_time": 0,
            "token": "0".repeat(32),
            "mac": self.mac,
            "fw_ver": self.fw_ver,
            "hw_ver": self.hw_ver,
            "model": self.model,
            "wifi_fw_ver": "SD878x-14.76.36.p84-702.1.0-WM",
            "ap": {"rssi": self.rssi, "ssid": self.ssid, "bssid": "FF:FF:FF:FF:FF:FF"},
            "netif": {
                "localIp": self.ip.to_string(),
                "mask": "255.255.255.0",
                "gw": format!("{}.{}.{}.1", o[0], o[1], o[2]),
            },
            "mmfree": 30312,
            "ot": "otu",
            "otu_stat": [0, 0, 0, 0, 0, 0],
            "ott_stat": [0, 0, 0, 0],
        })
    }
}

/// Why a datagram got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dropped {
    /// Not a valid miIO packet, or the checksum does not match this device's token (real
    /// devices stay silent on a wrong token).
    Packet(PacketError),
    /// A 32-byte packet that is not the hello request (a hello reply sent to us).
    HelloReply,
    /// Decrypted, but not a JSON-RPC envelope.
    Rpc(RpcError),
    /// A request whose id was seen less than [`DUPLICATE_WINDOW`] ago.
    Duplicate {
        /// The repeated id.
        id: u64,
    },
}

/// What [`MiioServer::receive`] made of a datagram.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Send this back at once (the hello reply).
    Answer(Vec<u8>),
    /// A request to execute; answer it with [`MiioServer::reply`].
    Request(RpcRequest),
    /// A reply to something this device sent.
    Reply(RpcReply),
    /// Nothing to do.
    Dropped(Dropped),
}

/// A sans-IO miIO server: the part every simulated miIO device shares.
///
/// - The stamp in every packet it sends is its uptime in seconds, `now - boot`.
/// - A hello gets a hello reply; an unprovisioned device puts its token in it, a provisioned
///   one `ff`×16.
/// - A packet whose checksum does not match the token is dropped without an answer, as real
///   devices do (reference §7.4).
/// - **Repeated ids**: a request with an id already seen within [`DUPLICATE_WINDOW`] is
///   dropped without being executed or answered, as the vacuum in python-miio PR #211 does
///   (`look like a repeated msg`) and as AlexxIT's `miio_fix.py` describes ("If seq is the
///   same in a short time, the device will not respond"). The other behaviour seen (an
///   acpartner answering `["ok"]` without acting, PR #636) is not simulated.
/// - The header device id of requests and the stamp are not checked.
/// - `miIO.info` is answered by the server from [`MiioInfo`]; everything else goes to the
///   [`MiioBackend`].
///
/// `Debug` never shows the token.
pub struct MiioServer {
    cipher: Cipher,
    device_id: DeviceId,
    boot: Instant,
    provisioned: bool,
    info: MiioInfo,
    recent: VecDeque<(u64, Instant)>,
    window: Duration,
}

impl fmt::Debug for MiioServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiioServer")
            .field("token", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("boot", &self.boot)
            .field("provisioned", &self.provisioned)
            .field("info", &self.info)
            .field("recent_ids", &self.recent.len())
            .finish()
    }
}

impl MiioServer {
    /// A provisioned device with `token` and `device_id`, booted at `boot`.
    pub fn new(token: &MiioToken, device_id: DeviceId, info: MiioInfo, boot: Instant) -> Self {
        MiioServer {
            cipher: Cipher::new(token),
            device_id,
            boot,
            provisioned: true,
            info,
            recent: VecDeque::new(),
            window: DUPLICATE_WINDOW,
        }
    }

    /// Whether the device is provisioned (hides its token in the hello reply).
    pub fn provisioned(&self) -> bool {
        self.provisioned
    }

    /// Provisions the device (hello replies hide the token) or resets it to factory state
    /// (hello replies reveal the token).
    pub fn set_provisioned(&mut self, provisioned: bool) {
        self.provisioned = provisioned;
    }

    /// Changes how long request ids are remembered ([`DUPLICATE_WINDOW`] by default;
    /// zero disables duplicate detection).
    pub fn set_duplicate_window(&mut self, window: Duration) {
        self.window = window;
        if window.is_zero() {
            self.recent.clear();
        }
    }

    /// The device id.
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The keys of the device's token (to seal what the device sends on its own).
    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }

    /// The `miIO.info` fields.
    pub fn info(&self) -> &MiioInfo {
        &self.info
    }

    /// The `miIO.info` fields, to change (e.g. the IP after a DHCP renewal).
    pub fn info_mut(&mut self) -> &mut MiioInfo {
        &mut self.info
    }

    /// Restarts the uptime counter (a reboot).
    pub fn reboot(&mut self, now: Instant) {
        self.boot = now;
        self.recent.clear();
    }

    /// Time since boot.
    pub fn uptime(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.boot)
    }

    /// The stamp at `now`: whole seconds since boot (wrapping at 2³²).
    pub fn stamp(&self, now: Instant) -> u32 {
        self.uptime(now).as_secs() as u32
    }

    /// The hello reply at `now`.
    pub fn hello_reply(&self, now: Instant) -> [u8; 32] {
        let stamp = self.stamp(now);
        let reply = if self.provisioned {
            HelloReply {
                unknown: 0,
                device_id: self.device_id,
                stamp,
                token: HelloToken::HiddenOnes,
            }
        } else {
            HelloReply::revealing(self.device_id, stamp, *self.cipher.token())
        };
        reply.to_bytes()
    }

    /// Classifies a datagram: hello, request (after the duplicate check), reply, or dropped.
    pub fn receive(&mut self, now: Instant, datagram: &[u8]) -> Received {
        if datagram == HELLO {
            return Received::Answer(self.hello_reply(now).to_vec());
        }
        if datagram.len() == HELLO.len() {
            return Received::Dropped(Dropped::HelloReply);
        }
        let opened = match self.cipher.open(datagram) {
            Ok(o) => o,
            Err(e) => return Received::Dropped(Dropped::Packet(e)),
        };
        match opened.rpc() {
            Err(e) => Received::Dropped(Dropped::Rpc(e)),
            Ok(RpcMessage::Reply(r)) => Received::Reply(r),
            Ok(RpcMessage::Request(r)) => {
                if self.seen(now, r.id) {
                    Received::Dropped(Dropped::Duplicate { id: r.id })
                } else {
                    Received::Request(r)
                }
            }
        }
    }

    /// Records `id`; true if it was seen within the window.
    fn seen(&mut self, now: Instant, id: u64) -> bool {
        if self.window.is_zero() {
            return false;
        }
        while self
            .recent
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= self.window)
        {
            self.recent.pop_front();
        }
        if self.recent.iter().any(|(i, _)| *i == id) {
            return true;
        }
        if self.recent.len() >= RECENT_IDS {
            self.recent.pop_front();
        }
        self.recent.push_back((id, now));
        false
    }

    /// The methods the server answers itself (`miIO.info`); `None` for the others.
    pub fn builtin(&self, now: Instant, request: &RpcRequest) -> Option<MethodResult> {
        match request.method.as_str() {
            "miIO.info" => Some(Ok(self.info.to_value(self.uptime(now)))),
            _ => None,
        }
    }

    /// The sealed reply to request `id` at `now` (`None` only if it does not fit a packet).
    pub fn reply(&self, now: Instant, id: u64, outcome: MethodResult) -> Option<Vec<u8>> {
        let reply = match outcome {
            Ok(v) => RpcReply::result(id, v),
            Err(e) => RpcReply::error(id, e.code, e.message),
        };
        self.seal(now, &reply.encode())
    }

    /// Seals a request this device sends on its own (a gateway's push), with its device id
    /// and current stamp.
    pub fn seal_request(&self, now: Instant, request: &RpcRequest) -> Option<Vec<u8>> {
        self.seal(now, &request.encode())
    }

    fn seal(&self, now: Instant, payload: &[u8]) -> Option<Vec<u8>> {
        self.cipher
            .seal(self.device_id, self.stamp(now), payload)
            .ok()
    }

    /// One datagram in, at most one datagram out: hello → hello reply; request →
    /// `miIO.info` or `backend.call` → sealed reply; reply → `backend.on_reply`; anything
    /// else → nothing.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        datagram: &[u8],
        backend: &mut impl MiioBackend,
    ) -> Option<Vec<u8>> {
        match self.receive(now, datagram) {
            Received::Answer(a) => Some(a),
            Received::Request(r) => {
                let outcome = match self.builtin(now, &r) {
                    Some(o) => o,
                    None => backend.call(now, &r),
                };
                self.reply(now, r.id, outcome)
            }
            Received::Reply(r) => {
                backend.on_reply(now, &r);
                None
            }
            Received::Dropped(_) => None,
        }
    }
}

/// `AA:BB:CC:DD:EE:FF` from 12 hex digits (a gateway sid is its MAC); other input is
/// hashed into a locally administered address so every simulated device has one.
pub fn mac_from(s: &str) -> String {
    let hex: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    let bytes: Vec<u8> = if hex.len() == 12 {
        hex.iter().map(|b| b.to_ascii_uppercase()).collect()
    } else {
        let h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{:012X}", (h & 0xfcff_ffff_ffff) | 0x0200_0000_0000).into_bytes()
    };
    bytes
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}
