//! The web dashboard and `/metrics`, served by the bridge (`[web]` in lumi.toml; on
//! 127.0.0.1:8099 by default).
//!
//! ```text
//! GET  /                                   the dashboard (one page, assets in the binary)
//! GET  /api/state                          everything it shows, as JSON (a "snapshot")
//! GET  /api/events                         the same, then live updates (server-sent events)
//! POST /api/devices/<name|sid>/set         {"state":"TOGGLE"}: as MQTT <name>/set
//! POST /api/devices/<name|sid>/set/<prop>  a plain value: as MQTT <name>/set/<prop>
//! POST /api/devices/<name|sid>/get         reads the device now
//! POST /api/bridge/request/<request>       permit_join, remove, rename, read, health
//! GET  /metrics                            Prometheus text format
//! GET  /healthz                            200 "ok" while the daemon task answers
//! ```
//!
//! Commands go through the same code as MQTT commands (the daemon's core), so they accept
//! the same payloads and fail with the same messages: `{"status":"ok","data":…}`, or
//! `{"status":"error","error":…}` with 400 (the bridge refused it), 502 (the gateway failed
//! or did not answer) or 504 (no answer in time).
//!
//! Security: without `web.token` the server must listen on loopback (the configuration
//! refuses anything else) and answers only requests addressed to a loopback host name, so a
//! web page elsewhere cannot reach it by DNS rebinding. With a token, every request needs
//! it: `Authorization: Bearer <token>` (Prometheus, scripts), or a cookie that opening
//! `/?token=<token>` once sets (browsers). Commands must be JSON (`Content-Type:
//! application/json`, which a cross-site form cannot send) and, when the browser names an
//! `Origin`, come from the dashboard's own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumi_client::gateway::Client;
use serde_json::json;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::WebConfig;
use crate::daemon::{Control, DashboardCommand, Reply};
use crate::metrics;
use crate::mqtt::Link;
use crate::state::MAX_PAYLOAD;

/// How long a command may take before the page is told it timed out (the gateway's own
/// timeout, 3 s by default, comes first).
const COMMAND_WAIT: Duration = Duration::from_secs(15);
/// How long a snapshot or the metrics may take.
const READ_WAIT: Duration = Duration::from_secs(5);
/// Server-sent events keep-alive, so proxies and browsers keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// Why the web server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The address is taken or cannot be bound.
    #[error(
        "cannot serve the dashboard on {addr}: {error}; choose another address with \
         [web] listen = \"127.0.0.1:8100\" in lumi.toml (or --web-listen), or turn it off \
         with [web] enabled = false (or --no-web)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said (in the message, so not a `source` as well: a chain printed
        /// whole would say it twice).
        error: std::io::Error,
    },
}

/// What the server needs from the bridge.
#[derive(Debug, Clone)]
pub(crate) struct Handles {
    pub control: mpsc::Sender<Control>,
    pub ui: broadcast::Sender<Arc<str>>,
    pub client: Client,
    pub link: Link,
}

/// The running server; stops when dropped.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Binds `config.listen` and serves on the current runtime.
    pub(crate) fn start(config: &WebConfig, handles: Handles) -> Result<WebServer, WebError> {
        let bind = |error| WebError::Bind {
            addr: config.listen,
            error,
        };
        let std = std::net::TcpListener::bind(config.listen).map_err(bind)?;
        std.set_nonblocking(true).map_err(bind)?;
        let listener = tokio::net::TcpListener::from_std(std).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
        let state = AppState {
            h: handles,
            stopping,
            token: config.token.as_ref().map(|t| Arc::from(t.expose())),
            cookie: format!("lumi_token_{}", addr.port()),
        };
        let app = router(state);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
                let _ = stopping_tx.send(true);
            });
            if let Err(e) = serve.await {
                tracing::error!("the dashboard's web server stopped: {e}");
            }
        });
        Ok(WebServer {
            addr,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and ends the open ones.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            // Open event streams end when the daemon's channel closes; do not wait for them.
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

#[derive(Clone)]
struct AppState {
    h: Handles,
    /// Becomes true when the server stops: open event streams end, so that the graceful
    /// shutdown does not wait for pages that never hang up.
    stopping: tokio::sync::watch::Receiver<bool>,
    /// `web.token` (never logged).
    token: Option<Arc<str>>,
    /// The cookie that carries it, per port (cookies do not tell ports apart).
    cookie: String,
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/style.css",
            get(|| asset(STYLE_CSS, "text/css; charset=utf-8")),
        )
        .route("/favicon.svg", get(|| asset(FAVICON_SVG, "image/svg+xml")))
        .route("/api/state", get(snapshot))
        .route("/api/events", get(events))
        .route("/api/devices/:device/set", post(set))
        .route("/api/devices/:device/set/:property", post(set_property))
        .route("/api/devices/:device/get", post(read))
        .route("/api/bridge/request/:request", post(bridge_request))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

// --- security ----------------------------------------------------------------------------

/// Token, host and origin checks before any handler (see the module docs).
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if st.token.is_none() && !loopback_host(host) {
        return error(
            StatusCode::FORBIDDEN,
            "this dashboard answers only on 127.0.0.1 or localhost; to reach it from another \
             host, set [web] listen and token in lumi.toml",
        );
    }
    if let Some(token) = &st.token {
        let from_query = req.uri().path() == "/" && query_token(req.uri().query()).is_some();
        if from_query {
            return match query_token(req.uri().query()) {
                Some(t) if same(t.as_bytes(), token.as_bytes()) => {
                    // Keep the token out of the address bar, the history and referrers.
                    let cookie =
                        format!("{}={token}; HttpOnly; SameSite=Strict; Path=/", st.cookie);
                    Response::builder()
                        .status(StatusCode::SEE_OTHER)
                        .header(header::LOCATION, "/")
                        .header(header::SET_COOKIE, cookie)
                        .body(Body::empty())
                        .unwrap_or_default()
                }
                _ => unauthorized(),
            };
        }
        if !authorized(headers, &st.cookie, token) {
            return unauthorized();
        }
    }
    if req.method() == Method::POST {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !json {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send commands as JSON (Content-Type: application/json)",
            );
        }
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
            && !same_origin(origin, host)
        {
            return error(
                StatusCode::FORBIDDEN,
                "commands are accepted only from the dashboard's own pages",
            );
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "this dashboard needs its token (web.token in lumi.toml): open it as \
         http://<host>:<port>/?token=<token>, or send Authorization: Bearer <token>",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"lumi\""),
    );
    r
}

/// The token from `Authorization: Bearer` or the cookie.
fn authorized(headers: &HeaderMap, cookie: &str, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t.trim().as_bytes(), token.as_bytes()));
    bearer
        || headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .any(|(k, v)| k == cookie && same(v.as_bytes(), token.as_bytes()))
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `Origin: http://host:port` names the same host as `Host: host:port`.
fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host))
}

// --- pages -------------------------------------------------------------------------------

async fn index() -> Response {
    let mut r = asset(INDEX_HTML, "text/html; charset=utf-8").await;
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    r
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Assets change with the binary: always revalidate (the page is small).
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"status": "error", "error": message})),
    )
        .into_response()
}

// --- API ---------------------------------------------------------------------------------

async fn ask<T>(st: &AppState, make: impl FnOnce(oneshot::Sender<T>) -> Control) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    st.h.control.send(make(tx)).await.ok()?;
    tokio::time::timeout(READ_WAIT, rx).await.ok()?.ok()
}

async fn snapshot(State(st): State<AppState>) -> Response {
    match ask(&st, Control::Snapshot).await {
        Some(s) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            s,
        )
            .into_response(),
        None => stopped(),
    }
}

fn stopped() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the bridge is not answering (stopping, or stuck: see its log)",
    )
}

async fn healthz(State(st): State<AppState>) -> Response {
    match ask(&st, Control::Ping).await {
        Some(()) => (StatusCode::OK, "ok\n").into_response(),
        None => stopped(),
    }
}

/// The stream of one page: a snapshot, then every update; a new snapshot when the page fell
/// so far behind that updates were lost.
async fn events(State(st): State<AppState>) -> Response {
    // Subscribe first, then take the snapshot: nothing falls between the two.
    let rx = st.h.ui.subscribe();
    let Some(first) = ask(&st, Control::Snapshot).await else {
        return stopped();
    };
    struct S {
        st: AppState,
        rx: broadcast::Receiver<Arc<str>>,
        first: Option<String>,
    }
    let stream = futures_util::stream::unfold(
        S {
            st,
            rx,
            first: Some(first),
        },
        |mut s| async move {
            if let Some(f) = s.first.take() {
                return Some((
                    Ok::<_, std::convert::Infallible>(Event::default().data(f)),
                    s,
                ));
            }
            let mut stopping = s.st.stopping.clone();
            let next = tokio::select! {
                m = s.rx.recv() => m,
                _ = stopping.wait_for(|stop| *stop) => return None,
            };
            match next {
                Ok(m) => Some((Ok(Event::default().data(&*m)), s)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(
                        missed = n,
                        "a dashboard page fell behind; sending a new snapshot"
                    );
                    let snap = ask(&s.st, Control::Snapshot).await?;
                    Some((Ok(Event::default().data(snap)), s))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        },
    );
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn command(st: &AppState, cmd: DashboardCommand) -> Response {
    let (tx, rx) = oneshot::channel::<Reply>();
    if st.h.control.send(Control::Command(cmd, tx)).await.is_err() {
        return stopped();
    }
    match tokio::time::timeout(COMMAND_WAIT, rx).await {
        Ok(Ok(Ok(data))) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({"status": "ok", "data": data})),
        )
            .into_response(),
        Ok(Ok(Err(e))) => {
            let status = if e.rejected {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::BAD_GATEWAY
            };
            error(status, &e.message)
        }
        Ok(Err(_)) => stopped(),
        Err(_) => error(
            StatusCode::GATEWAY_TIMEOUT,
            &format!("no answer within {} s", COMMAND_WAIT.as_secs()),
        ),
    }
}

async fn set(State(st): State<AppState>, Path(device): Path<String>, body: Bytes) -> Response {
    command(
        &st,
        DashboardCommand::Set {
            device,
            property: None,
            payload: body.to_vec(),
        },
    )
    .await
}

async fn set_property(
    State(st): State<AppState>,
    Path((device, property)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    command(
        &st,
        DashboardCommand::Set {
            device,
            property: Some(property),
            payload: body.to_vec(),
        },
    )
    .await
}

async fn read(State(st): State<AppState>, Path(device): Path<String>) -> Response {
    command(&st, DashboardCommand::Get { device }).await
}

async fn bridge_request(
    State(st): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    command(
        &st,
        DashboardCommand::Request {
            name,
            payload: body.to_vec(),
        },
    )
    .await
}

async fn metrics_text(State(st): State<AppState>) -> Response {
    let Some(core) = ask(&st, Control::Metrics).await else {
        return stopped();
    };
    let client = tokio::time::timeout(READ_WAIT, st.h.client.stats())
        .await
        .ok()
        .and_then(Result::ok);
    let gateways = tokio::time::timeout(READ_WAIT, st.h.client.gateways())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let text = metrics::render(&metrics::Snapshot {
        core,
        client,
        gateways,
        link: st.h.link.stats(),
        process: Some(metrics::Process::current(tasks)),
    });
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// For tests of the pure helpers.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:8099",
            "127.0.0.1:8099",
            "127.1.2.3",
            "[::1]:8099",
            "[::1]",
            "LOCALHOST:1",
        ] {
            assert!(loopback_host(h), "{h}");
        }
        for h in [
            "",
            "evil.example:8099",
            "192.168.1.2:8099",
            "localhost.evil.example",
            "[::2]:80",
            "127.0.0.1.nip.io",
        ] {
            assert!(!loopback_host(h), "{h}");
        }
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://127.0.0.1:8099", "127.0.0.1:8099"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:8099"));
        assert!(!same_origin("null", "127.0.0.1:8099"));
    }

    #[test]
    fn tokens_from_headers_cookies_and_queries() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "lumi_token_1", "0123456789abcdef"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef"),
        );
        assert!(authorized(&h, "lumi_token_1", "0123456789abcdef"));
        assert!(!authorized(&h, "lumi_token_1", "0123456789abcdeg"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; lumi_token_1=0123456789abcdef"),
        );
        assert!(authorized(&h, "lumi_token_1", "0123456789abcdef"));
        assert!(!authorized(&h, "lumi_token_2", "0123456789abcdef"));
        assert_eq!(query_token(Some("x=1&token=abc")), Some("abc"));
        assert_eq!(query_token(Some("x=1")), None);
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[test]
    fn the_page_refers_only_to_assets_it_serves() {
        for asset in ["/app.js", "/style.css", "/favicon.svg"] {
            assert!(INDEX_HTML.contains(asset), "{asset}");
        }
        // Nothing from elsewhere (no CDN): the page works offline. The only address is SVG's
        // XML namespace, which is a name, not a download.
        for text in [INDEX_HTML, APP_JS, STYLE_CSS, FAVICON_SVG] {
            let rest = text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !rest.contains("http://") && !rest.contains("https://") && !rest.contains("//cdn")
            );
        }
    }
}
