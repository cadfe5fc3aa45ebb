//! A scripted MQTT broker: a TCP listener whose test reads and writes raw MQTT packets
//! (rumqttc's codec), to check exactly what a client sends and when, and to answer as a
//! broker would, or would not. Waits time out after [`WAIT`] with a panic (a failed test).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::{ConnAck, ConnectReturnCode, Packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a read or an accept waits.
pub const WAIT: Duration = Duration::from_secs(5);

/// One accepted connection of the scripted broker.
pub struct Conn {
    s: TcpStream,
    buf: BytesMut,
}

impl Conn {
    /// Waits for the client to connect.
    pub async fn accept(l: &TcpListener) -> Conn {
        let (s, _) = tokio::time::timeout(WAIT, l.accept())
            .await
            .expect("the link connects")
            .unwrap();
        Conn {
            s,
            buf: BytesMut::new(),
        }
    }

    /// The next packet from the link; `None` when it closed the connection.
    pub async fn read(&mut self) -> Option<Packet> {
        loop {
            match Packet::read(&mut self.buf, 16 << 20) {
                Ok(p) => return Some(p),
                Err(rumqttc::Error::InsufficientBytes(_)) => {
                    let n = tokio::time::timeout(WAIT, self.s.read_buf(&mut self.buf))
                        .await
                        .expect("the link sends something")
                        .unwrap_or(0);
                    if n == 0 {
                        return None;
                    }
                }
                Err(e) => panic!("the link sent a malformed packet: {e}"),
            }
        }
    }

    /// The next packet that is not a ping.
    pub async fn next(&mut self) -> Packet {
        loop {
            match self.read().await.expect("the link closed the connection") {
                Packet::PingReq => self.send(Packet::PingResp).await,
                p => return p,
            }
        }
    }

    /// Writes one packet.
    pub async fn send(&mut self, p: Packet) {
        let mut b = BytesMut::new();
        p.write(&mut b, 16 << 20).unwrap();
        self.raw(&b).await;
    }

    /// Writes raw bytes (malformed packets, for instance).
    pub async fn raw(&mut self, bytes: &[u8]) {
        // The link may already have closed the connection (that is what some scripts test).
        let _ = self.s.write_all(bytes).await;
        let _ = self.s.flush().await;
    }

    /// Closes the connection from the broker's side.
    pub async fn shutdown(&mut self) {
        let _ = self.s.shutdown().await;
    }

    /// Reads the CONNECT and accepts it.
    pub async fn handshake(&mut self) -> rumqttc::Connect {
        let Packet::Connect(c) = self.next().await else {
            panic!("expected CONNECT")
        };
        self.send(Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::Success,
            false,
        )))
        .await;
        c
    }
}

/// A listener on 127.0.0.1, port 0, and its address.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}
