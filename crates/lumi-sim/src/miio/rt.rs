//! The tokio adaptor: a simulated miIO device on a real UDP socket (loopback in tests).

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::device::SimMiioDevice;
use super::server::MiioBackend;

type Inspect<B> = Box<dyn FnOnce(&mut SimMiioDevice<B>) + Send>;

enum Control<B> {
    Inspect(Inspect<B>),
    Stop(oneshot::Sender<()>),
}

/// A handle to a running simulated miIO device. Dropping it stops the device.
pub struct MiioDeviceHandle<B> {
    control: mpsc::Sender<Control<B>>,
    /// Where the device listens (port 0 in [`spawn_miio_device`] becomes the real port).
    pub addr: SocketAddr,
}

impl<B> std::fmt::Debug for MiioDeviceHandle<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiioDeviceHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The device has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the simulated miio device has stopped")]
pub struct Stopped;

impl<B: MiioBackend + Send + 'static> MiioDeviceHandle<B> {
    /// Runs `f` on the device (read or change its state) and returns its result.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SimMiioDevice<B>) -> R + Send + 'static,
    ) -> Result<R, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Control::Inspect(Box::new(move |d| {
                let _ = tx.send(f(d));
            })))
            .await
            .map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Stops the device and waits until its socket is closed.
    pub async fn stop(self) {
        let (tx, rx) = oneshot::channel();
        if self.control.send(Control::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts `device` on a UDP socket bound to `addr` (e.g. `127.0.0.3:0` for a free port).
pub async fn spawn_miio_device<B: MiioBackend + Send + 'static>(
    addr: SocketAddr,
    mut device: SimMiioDevice<B>,
) -> io::Result<MiioDeviceHandle<B>> {
    let socket = UdpSocket::bind(addr).await?;
    let addr = socket.local_addr()?;
    let (tx, mut rx) = mpsc::channel::<Control<B>>(16);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        loop {
            tokio::select! {
                r = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        device.handle_datagram(tokio::time::Instant::now().into_std(), from, &buf[..n]);
                    }
                }
                c = rx.recv() => match c {
                    None => break,
                    Some(Control::Stop(done)) => {
                        let _ = done.send(());
                        break;
                    }
                    Some(Control::Inspect(f)) => f(&mut device),
                },
            }
            while let Some(t) = device.poll_transmit() {
                if let Err(e) = socket.send_to(&t.payload, t.to).await {
                    tracing::warn!(device = %addr, "miio send failed: {e}");
                }
            }
        }
    });
    Ok(MiioDeviceHandle { control: tx, addr })
}
