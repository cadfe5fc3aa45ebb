//! A plain HTTP/1.1 client over a TCP socket, for the dashboard's tests: no HTTP library, so
//! the bytes on the wire are what is tested, including the server-sent event stream
//! ([`Events`]). Every wait has a deadline ([`WAIT`]); nothing sleeps.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an answer or an event may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// An answer.
#[derive(Debug)]
pub struct Response {
    /// Its status code.
    pub status: u16,
    /// Its headers, as sent.
    pub headers: Vec<(String, String)>,
    /// Its body (chunked transfer decoded).
    pub body: String,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics, showing it, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// One request with `Connection: close` (and `Host` unless `headers` has one); `headers` are
/// extra lines (`Name: value`).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let has_host = headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"));
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !has_host {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes")
        .unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The header of a JSON body, which the dashboard wants for commands.
pub const JSON: &str = "Content-Type: application/json";

/// The server-sent event stream of the dashboard's `/api/events`, message by message.
pub struct Events {
    s: TcpStream,
    buf: Vec<u8>,
    /// Decoded body text not yet split into events.
    text: String,
    headers_done: bool,
}

impl Events {
    /// Opens the stream; `headers` as for [`request`].
    pub async fn open(addr: SocketAddr, headers: &[&str]) -> Events {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut req =
            format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        Events {
            s,
            buf: Vec::new(),
            text: String::new(),
            headers_done: false,
        }
    }

    /// The next `data:` message as JSON.
    pub async fn next(&mut self) -> Value {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let event: String = self.text.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return serde_json::from_str(&data.join("\n")).unwrap();
            }
            let mut chunk = [0u8; 16384];
            let n = tokio::time::timeout(WAIT, self.s.read(&mut chunk))
                .await
                .expect("an event within the deadline")
                .unwrap();
            assert!(n > 0, "the event stream ended");
            self.buf.extend_from_slice(&chunk[..n]);
            self.decode();
        }
    }

    /// Waits until the server ends the stream.
    pub async fn closed(&mut self) {
        let mut rest = Vec::new();
        tokio::time::timeout(WAIT, self.s.read_to_end(&mut rest))
            .await
            .expect("the stream ends")
            .expect("the stream ends cleanly");
    }

    /// Moves complete chunks from `buf` to `text`.
    fn decode(&mut self) {
        if !self.headers_done {
            let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert!(
                head.to_ascii_lowercase().contains("text/event-stream"),
                "{head}"
            );
            self.buf.drain(..end + 4);
            self.headers_done = true;
        }
        loop {
            let Some(line_end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size = std::str::from_utf8(&self.buf[..line_end]).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if self.buf.len() < line_end + 2 + n + 2 {
                return;
            }
            let data = self.buf[line_end + 2..line_end + 2 + n].to_vec();
            self.buf.drain(..line_end + 2 + n + 2);
            self.text.push_str(&String::from_utf8(data).unwrap());
        }
    }

    /// Messages until one satisfies `f` (which sees each in turn).
    pub async fn until(&mut self, mut f: impl FnMut(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let m = tokio::time::timeout_at(deadline, self.next())
                .await
                .expect("the expected message within the deadline");
            if f(&m) {
                return m;
            }
        }
    }
}
