//! `lumi bench`: the bridge measured end to end on loopback (see BENCHMARKS.md).
//!
//! Layout, all on loopback:
//!
//! ```text
//! simulated gateways (this process)   ── whois/iam, read, heartbeats ──►  lumi bridge
//! load thread (this process, the      ── report datagrams, multicast ──►  (a child process:
//!   gateways' addresses)                                                  its CPU and memory
//!                                                                          are its own)
//!                                                                              │ MQTT
//! subscriber thread (this process)    ◄── state messages ─────────────── broker (embedded in
//!                                                                          the bridge, or
//!                                                                          mosquitto)
//! ```
//!
//! Every report carries a sequence number (a plug's energy counter, `SEQ_BASE + i`), and its
//! send time is kept; the subscriber matches each delivered state to its report. So every
//! report is accounted for: sent, dropped by the kernel at the bridge's socket
//! (`/proc/<pid>/net/udp`), received by the bridge's LAN client, handled by the bridge,
//! published, and delivered; and each delivery has its own latency.

mod child;
mod load;
mod sub;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::GatewayConfig;
use serde::Serialize;
use serde_json::Value;

use self::child::{Proc, ProcStats};
use self::load::{Baseline, Pace, Source};
use crate::cli::{BenchArgs, BenchBroker, Global};
use crate::exit::bad_input;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 50);
const BASE_TOPIC: &str = "lumi";

/// Everything `lumi bench` measured (the `--json` output).
#[derive(Debug, Serialize)]
struct Report {
    setup: Setup,
    loopback_limit: Option<Baseline>,
    /// Paced runs: the latency of a bare sender/receiver pair at the same rate.
    loopback_latency_ms: Option<load::LatencyBaseline>,
    startup: Startup,
    stages: Stages,
    throughput: Throughput,
    latency_ms: Option<Latency>,
    bridge: BridgeUse,
    binary_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Setup {
    gateways: u16,
    devices_per_gateway: u32,
    mode: &'static str,
    rate: Option<u32>,
    duration_s: Option<f64>,
    reports: u64,
    broker: String,
    qos: u8,
    cpus: usize,
}

#[derive(Debug, Serialize)]
struct Startup {
    /// Bridge process spawned → `bridge/state` online seen by the subscriber.
    online_ms: Option<f64>,
    /// Bridge process spawned → first device state delivered.
    first_state_ms: Option<f64>,
    /// Bridge process spawned → every plug listed in `bridge/devices`.
    all_devices_ms: f64,
    /// The first report of the run: sent → delivered.
    first_report_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Stages {
    sent: u64,
    send_errors: u64,
    dropped_by_kernel: u64,
    received_by_bridge: Option<u64>,
    handled_by_bridge: Option<u64>,
    published: Option<u64>,
    publish_queue_full: Option<u64>,
    delivered: u64,
    lost: u64,
    duplicates: u64,
    out_of_order: u64,
}

#[derive(Debug, Serialize)]
struct Throughput {
    /// Reports per second the load was sent at.
    sent_per_s: f64,
    /// Reports per second delivered (first sent → last delivered).
    delivered_per_s: f64,
    /// First send → last delivery, in seconds.
    window_s: f64,
}

#[derive(Debug, Serialize)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
    mean: f64,
}

#[derive(Debug, Serialize)]
struct BridgeUse {
    /// CPU time during the load (from the first report to the last delivery), seconds.
    cpu_s: f64,
    /// …as a share of one core over that window.
    cpu_percent: f64,
    /// CPU time in the whole run, including start-up.
    cpu_total_s: f64,
    peak_rss_kib: u64,
    rss_kib: u64,
    rss_anon_kib: u64,
    rss_file_kib: u64,
    fds: u64,
    threads: u64,
    /// The broker's, when the bench started it (mosquitto).
    broker_peak_rss_kib: Option<u64>,
    broker_cpu_s: Option<f64>,
}

pub fn run(args: BenchArgs, g: &Global) -> anyhow::Result<()> {
    let interface = match g.interface.as_deref() {
        None => Ipv4Addr::LOCALHOST,
        Some(s) => s.parse::<Ipv4Addr>().ok().filter(Ipv4Addr::is_loopback).ok_or_else(|| {
            bad_input(format!(
                "--interface {s:?}: lumi bench runs on loopback only; give a 127.x.x.x address or leave it out"
            ))
        })?,
    };
    if !args.bind.is_loopback() {
        return Err(bad_input(format!(
            "--bind {}: the simulated gateways live on loopback; give a 127.x.x.x address",
            args.bind
        )));
    }
    let last = u32::from(args.bind) + u32::from(args.gateways) - 1;
    if !Ipv4Addr::from(last).is_loopback() {
        return Err(bad_input(format!(
            "--bind {} with {} gateways runs past 127.255.255.255; start lower",
            args.bind, args.gateways
        )));
    }
    let duration = crate::settings::parse_duration(&args.duration)
        .map_err(|e| bad_input(format!("--duration: {e}")))?;
    let drain = crate::settings::parse_duration(&args.drain)
        .map_err(|e| bad_input(format!("--drain: {e}")))?;
    let pace = match args.burst {
        Some(n) => Pace::Burst {
            count: u64::from(n),
        },
        None => {
            let count = (duration.as_secs_f64() * f64::from(args.rate)).round() as u64;
            if count == 0 {
                return Err(bad_input(format!(
                    "--rate {} for --duration {} sends no report; make either larger",
                    args.rate, args.duration
                )));
            }
            Pace::Rate {
                rate: args.rate,
                count,
            }
        }
    };
    if pace.count() > 50_000_000 {
        return Err(bad_input(format!(
            "{} reports is more than this bench keeps timestamps for (50 000 000); lower --rate or --duration",
            pace.count()
        )));
    }
    let external = match &args.mqtt {
        None => None,
        Some(u) => {
            let url: lumi_bridge::config::MqttUrl = u
                .parse()
                .map_err(|e| bad_input(format!("--mqtt {u:?}: {e}")))?;
            let ip = if url.host.eq_ignore_ascii_case("localhost") {
                Ipv4Addr::LOCALHOST
            } else {
                url.host
                    .parse::<Ipv4Addr>()
                    .ok()
                    .filter(Ipv4Addr::is_loopback)
                    .ok_or_else(|| {
                        bad_input(format!(
                            "--mqtt {u:?}: lumi bench measures on loopback only; give a broker on 127.x.x.x"
                        ))
                    })?
            };
            Some((u.clone(), SocketAddr::from((ip, url.port))))
        }
    };
    let exe = match &args.bridge_exe {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find this program's path")?,
    };
    let dir = std::env::temp_dir().join(format!("lumi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let r = rt.block_on(bench(BenchRun {
        args: &args,
        interface,
        pace,
        drain,
        external,
        exe,
        dir: dir.clone(),
    }));
    let _ = std::fs::remove_dir_all(&dir);
    let report = r?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

struct BenchRun<'a> {
    args: &'a BenchArgs,
    interface: Ipv4Addr,
    pace: Pace,
    drain: Duration,
    external: Option<(String, SocketAddr)>,
    exe: PathBuf,
    dir: PathBuf,
}

async fn bench(b: BenchRun<'_>) -> anyhow::Result<Report> {
    let args = b.args;
    let count = b.pace.count();
    let progress = |msg: &str| {
        eprintln!("lumi bench: {msg}");
    };

    // 1. The loopback limit, before anything else runs.
    let loopback_limit = if args.no_baseline {
        None
    } else {
        let n = count.clamp(10_000, 200_000);
        progress(&format!("measuring the loopback limit ({n} datagrams)"));
        let port = child::free_udp_port()?;
        let iface = b.interface;
        Some(
            tokio::task::spawn_blocking(move || load::baseline(iface, GROUP, port, n))
                .await?
                .context("loopback baseline")?,
        )
    };

    // …and, for a paced run, the latency floor at its rate (as long as the run, 5 s at most).
    let loopback_latency = match (args.no_baseline, b.pace) {
        (false, Pace::Rate { rate, count }) => {
            let n = count.min(u64::from(rate) * 5);
            progress(&format!(
                "measuring the loopback latency ({n} datagrams at {rate}/s)"
            ));
            let port = child::free_udp_port()?;
            let iface = b.interface;
            Some(
                tokio::task::spawn_blocking(move || {
                    load::latency_baseline(iface, GROUP, port, rate, n)
                })
                .await?
                .context("loopback latency baseline")?,
            )
        }
        _ => None,
    };

    // 2. The simulated gateways.
    let discovery_port = child::free_udp_port()?;
    let report_port = child::free_udp_port()?;
    let net = lumi_sim::rt::NetConfig {
        interface: b.interface,
        group: GROUP,
        discovery_port,
        report_port,
        miio_port: 0,
    };
    let password: GatewayPassword = "lumibenchpasswd1".parse().map_err(anyhow::Error::msg)?;
    let mut sims = Vec::new();
    let mut sources = Vec::new();
    for gi in 0..args.gateways {
        let ip = Ipv4Addr::from(u32::from(args.bind) + u32::from(gi));
        let gsid = Sid::new(&format!("7811dcb0{gi:04x}"))?;
        let mut cfg = GatewayConfig::new(gsid, ip, ProtoVersion::V1, password.clone());
        cfg.command_port = 0;
        cfg.seed = u64::from(gi) + 1;
        let mut devices = Vec::new();
        let mut sids = Vec::new();
        for di in 0..args.devices {
            let sid = format!("158d{:02x}{:08x}", gi % 256, di);
            devices.push(
                SubDevice::from_catalogue(Sid::new(&sid)?, "plug", ProtoVersion::V1)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
            sids.push(sid);
        }
        let h = lumi_sim::rt::spawn_gateway(cfg, devices, net)
            .await
            .with_context(|| format!("cannot start a simulated gateway on {ip}"))?;
        sims.push(h);
        sources.push(Source { ip, devices: sids });
    }
    let plugs = u64::from(args.gateways) * u64::from(args.devices);

    // 3. The broker.
    let mut broker_proc: Option<Proc> = None;
    let (broker_label, broker_addr, bridge_broker_args): (String, SocketAddr, Vec<String>) =
        match (&b.external, args.broker) {
            (Some((url, addr)), _) => (url.clone(), *addr, vec!["--mqtt".into(), url.clone()]),
            (None, BenchBroker::Mosquitto) => {
                let (p, addr) = child::mosquitto(&b.dir)?;
                broker_proc = Some(p);
                let url = format!("mqtt://{addr}");
                (
                    format!("mosquitto (started by the bench) on {addr}"),
                    addr,
                    vec!["--mqtt".into(), url],
                )
            }
            (None, BenchBroker::Embedded) => {
                let port = child::free_tcp_port()?;
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                (
                    format!("embedded (in the bridge process) on {addr}"),
                    addr,
                    vec!["--mqtt-listen".into(), addr.to_string()],
                )
            }
        };

    // 4. The subscriber (it retries until the broker is up), then the bridge.
    let clock = Instant::now();
    let stamps: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
    let subscriber = sub::Subscriber::start(
        broker_addr,
        BASE_TOPIC,
        // Home Assistant subscribes to states at QoS 0; so does the bench.
        rumqttc::QoS::AtMostOnce,
        stamps.clone(),
        plugs as usize,
        clock,
    )?;
    if broker_proc.is_some() || b.external.is_some() {
        wait_for(Duration::from_secs(10), "the subscriber to connect", || {
            subscriber.progress.connected.load(Ordering::Relaxed)
        })
        .await?;
    }
    let config = b.dir.join("lumi.toml");
    std::fs::write(
        &config,
        format!(
            // No dashboard: the bench measures the MQTT path, and must not take its port.
            "interface = \"{}\"\n[mqtt]\nqos = {}\n[bridge]\nbase_topic = \"{BASE_TOPIC}\"\n[web]\nenabled = false\n",
            b.interface, args.qos
        ),
    )?;
    let mut cmd = std::process::Command::new(&b.exe);
    cmd.arg("--config")
        .arg(&config)
        .arg("bridge")
        .args(["--interface", &b.interface.to_string()])
        .args(["--discovery-port", &discovery_port.to_string()])
        .args(["--report-port", &report_port.to_string()])
        .args(&bridge_broker_args);
    for s in &sims {
        cmd.args(["--gateway", &s.command_addr.to_string()]);
    }
    cmd.env_remove("LUMI_CONFIG")
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_INTERFACE")
        .env_remove("LUMI_MQTT_URL")
        // Under systemd, the measured bridge must not speak for this process.
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID");
    if std::env::var_os("LUMI_LOG").is_none() {
        cmd.env("LUMI_LOG", "warn");
    }
    let log = b.dir.join("bridge.log");
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    progress(&format!(
        "starting the bridge: {} gateways × {} plugs, broker {broker_label}",
        args.gateways, args.devices
    ));
    let spawned_ns = clock.elapsed().as_nanos() as u64;
    let mut bridge = Proc {
        child: cmd
            .spawn()
            .with_context(|| format!("cannot start {} bridge", b.exe.display()))?,
        log,
        name: "the bridge",
    };
    let pid = bridge.pid();
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        while subscriber.progress.plugs_listed.load(Ordering::Relaxed) < plugs {
            bridge.check_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "the bridge did not list all {plugs} plugs within 60 s (it listed {}); its last log lines:\n{}",
                subscriber.progress.plugs_listed.load(Ordering::Relaxed),
                bridge.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let all_devices_ns = clock.elapsed().as_nanos() as u64;
    let ms_since_spawn = |t: u64| (t > 0).then(|| (t.saturating_sub(spawned_ns)) as f64 / 1e6);
    let startup_online = ms_since_spawn(subscriber.progress.online_ns.load(Ordering::Relaxed));
    let startup_first = ms_since_spawn(subscriber.progress.first_state_ns.load(Ordering::Relaxed));

    // 5. Counters before, the load, the drain, counters after.
    let health0 = subscriber.health().await;
    let (kdrops0, _) = child::udp_drops(pid, report_port);
    let cpu0 = child::proc_stats(pid).cpu_s;
    progress(&match b.pace {
        Pace::Rate { rate, count } => format!("sending {count} reports at {rate}/s"),
        Pace::Burst { count } => format!("sending a burst of {count} reports"),
    });
    let to = SocketAddr::V4(SocketAddrV4::new(GROUP, report_port));
    let (iface, pace, st) = (b.interface, b.pace, stamps.clone());
    let sent =
        tokio::task::spawn_blocking(move || load::send(&sources, iface, to, pace, clock, &st))
            .await?
            .context("sending the load")?;
    {
        let mut last = subscriber.progress.delivered.load(Ordering::Relaxed);
        let mut since = Instant::now();
        while last < sent.sent {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = subscriber.progress.delivered.load(Ordering::Relaxed);
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= b.drain {
                break;
            }
        }
    }
    let end_ns = subscriber
        .progress
        .last_delivery_ns
        .load(Ordering::Relaxed)
        .max(sent.last_ns);
    let usage = child::proc_stats(pid);
    let (kdrops1, _) = child::udp_drops(pid, report_port);
    let health1 = subscriber.health().await;
    bridge.check_running()?;
    let broker_usage = broker_proc.as_ref().map(|p| child::proc_stats(p.pid()));
    let collected = subscriber.finish().await;
    drop(bridge);
    drop(broker_proc);
    for s in sims {
        s.stop().await;
    }

    // 6. The figures.
    let delta = |path: &[&str]| -> Option<u64> {
        let get = |h: &Option<Value>| {
            let mut v = h.as_ref()?;
            for p in path {
                v = v.get(*p)?;
            }
            v.as_u64()
        };
        Some(get(&health1)?.saturating_sub(get(&health0)?))
    };
    let delivered = collected.latencies_ns.len() as u64;
    let window_s = (end_ns.saturating_sub(sent.first_ns)) as f64 / 1e9;
    let send_s = (sent.last_ns.saturating_sub(sent.first_ns)) as f64 / 1e9;
    let first_report_ms = collected.latencies_ns.first().map(|l| *l as f64 / 1e6);
    if let Some(path) = &args.latency_csv {
        write_latency_csv(
            path,
            sent.first_ns,
            &collected.sent_ns,
            &collected.latencies_ns,
        )?;
    }
    let mut lat = collected.latencies_ns;
    lat.sort_unstable();
    let latency_ms = (!lat.is_empty()).then(|| {
        let at = |q: f64| {
            let i = ((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1;
            lat[i] as f64 / 1e6
        };
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: lat[lat.len() - 1] as f64 / 1e6,
            mean: lat.iter().sum::<u64>() as f64 / lat.len() as f64 / 1e6,
        }
    });
    let cpu_s = usage.cpu_s - cpu0;
    Ok(Report {
        setup: Setup {
            gateways: args.gateways,
            devices_per_gateway: args.devices,
            mode: match b.pace {
                Pace::Rate { .. } => "paced",
                Pace::Burst { .. } => "burst",
            },
            rate: matches!(b.pace, Pace::Rate { .. }).then_some(args.rate),
            duration_s: matches!(b.pace, Pace::Rate { .. }).then_some(send_s),
            reports: count,
            broker: broker_label,
            qos: args.qos,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        loopback_limit,
        loopback_latency_ms: loopback_latency,
        startup: Startup {
            online_ms: startup_online,
            first_state_ms: startup_first,
            all_devices_ms: (all_devices_ns - spawned_ns) as f64 / 1e6,
            first_report_ms,
        },
        stages: Stages {
            sent: sent.sent,
            send_errors: sent.errors,
            dropped_by_kernel: kdrops1.saturating_sub(kdrops0),
            received_by_bridge: delta(&["data", "lan", "reports"]),
            handled_by_bridge: delta(&["data", "counters", "reports"]),
            published: delta(&["data", "mqtt", "published"]),
            publish_queue_full: delta(&["data", "mqtt", "dropped_queue_full"]),
            delivered,
            lost: sent.sent.saturating_sub(delivered),
            duplicates: collected.duplicates,
            out_of_order: collected.out_of_order,
        },
        throughput: Throughput {
            sent_per_s: if send_s > 0.0 {
                sent.sent as f64 / send_s
            } else {
                0.0
            },
            delivered_per_s: if window_s > 0.0 {
                delivered as f64 / window_s
            } else {
                0.0
            },
            window_s,
        },
        latency_ms,
        bridge: BridgeUse {
            cpu_s,
            cpu_percent: if window_s > 0.0 {
                100.0 * cpu_s / window_s
            } else {
                0.0
            },
            cpu_total_s: usage.cpu_s,
            peak_rss_kib: usage.peak_rss_kib,
            rss_kib: usage.rss_kib,
            rss_anon_kib: usage.rss_anon_kib,
            rss_file_kib: usage.rss_file_kib,
            fds: usage.fds,
            threads: usage.threads,
            broker_peak_rss_kib: broker_usage.map(|u: ProcStats| u.peak_rss_kib),
            broker_cpu_s: broker_usage.map(|u| u.cpu_s),
        },
        binary_bytes: std::fs::metadata(&b.exe).map(|m| m.len()).unwrap_or(0),
    })
}

async fn wait_for(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

fn print_table(r: &Report) {
    let s = &r.setup;
    let opt = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
    println!(
        "lumi bench: {} gateways × {} plugs, {}, broker {}, QoS {}, {} CPUs",
        s.gateways,
        s.devices_per_gateway,
        match s.rate {
            Some(rate) => format!(
                "{rate} reports/s for {:.1} s ({} reports)",
                s.duration_s.unwrap_or(0.0),
                s.reports
            ),
            None => format!("unpaced burst of {} reports", s.reports),
        },
        s.broker,
        s.qos,
        s.cpus
    );
    if let Some(b) = &r.loopback_limit {
        println!(
            "loopback limit     {:>10.0} datagrams/s received ({:.0}/s sent, {} of {} dropped, {} B each, rcvbuf {} KiB)",
            b.receive_rate,
            b.send_rate,
            b.dropped,
            b.datagrams,
            b.bytes_each,
            b.recv_buffer / 1024
        );
    }
    if let Some(l) = &r.loopback_latency_ms {
        println!(
            "loopback latency   p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms (a bare pair at {}/s, {} datagrams: the machine's floor)",
            l.p50, l.p99, l.p999, l.max, l.rate, l.received
        );
    }
    let st = &r.stages;
    println!("reports");
    println!(
        "  sent               {:>10}  ({} send errors)",
        st.sent, st.send_errors
    );
    println!(
        "  dropped by kernel  {:>10}  (at the bridge's receive buffer)",
        st.dropped_by_kernel
    );
    println!("  received by bridge {:>10}", opt(st.received_by_bridge));
    println!("  handled by bridge  {:>10}", opt(st.handled_by_bridge));
    println!(
        "  published          {:>10}  (all messages; {} refused: queue full)",
        opt(st.published),
        opt(st.publish_queue_full)
    );
    println!("  delivered          {:>10}", st.delivered);
    println!(
        "  lost               {:>10}  ({} duplicates, {} out of order)",
        st.lost, st.duplicates, st.out_of_order
    );
    let t = &r.throughput;
    println!(
        "throughput         {:>10.0} reports/s delivered ({:.0}/s sent; {:.3} s first sent → last delivered)",
        t.delivered_per_s, t.sent_per_s, t.window_s
    );
    if let Some(l) = &r.latency_ms {
        println!(
            "latency (ms)       p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  mean {:.3}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        );
    }
    let b = &r.bridge;
    println!(
        "bridge             CPU {:.2} s during the load ({:.0}% of a core), {:.2} s in all; peak RSS {:.1} MiB (at the end {:.1} MiB: {:.1} heap and stacks, {:.1} mapped files); {} threads, {} fds",
        b.cpu_s,
        b.cpu_percent,
        b.cpu_total_s,
        b.peak_rss_kib as f64 / 1024.0,
        b.rss_kib as f64 / 1024.0,
        b.rss_anon_kib as f64 / 1024.0,
        b.rss_file_kib as f64 / 1024.0,
        b.threads,
        b.fds
    );
    if let (Some(rss), Some(cpu)) = (b.broker_peak_rss_kib, b.broker_cpu_s) {
        println!(
            "broker             CPU {cpu:.2} s in all; peak RSS {:.1} MiB",
            rss as f64 / 1024.0
        );
    }
    let su = &r.startup;
    let ms = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.1} ms"));
    println!(
        "start-up           online after {}, first state after {}, all plugs listed after {:.1} ms; first report delivered {} after it was sent",
        ms(su.online_ms),
        ms(su.first_state_ms),
        su.all_devices_ms,
        ms(su.first_report_ms)
    );
    println!(
        "binary             {:.1} MiB",
        r.binary_bytes as f64 / (1024.0 * 1024.0)
    );
}

/// `--latency-csv`: one line per delivered report, in delivery order.
fn write_latency_csv(
    path: &std::path::Path,
    first_ns: u64,
    sent_ns: &[u64],
    latencies_ns: &[u64],
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot write the latency CSV to {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let write = |w: &mut std::io::BufWriter<std::fs::File>| -> std::io::Result<()> {
        writeln!(w, "sent_ms,latency_ms")?;
        for (s, l) in sent_ns.iter().zip(latencies_ns) {
            writeln!(
                w,
                "{:.3},{:.3}",
                s.saturating_sub(first_ns) as f64 / 1e6,
                *l as f64 / 1e6
            )?;
        }
        w.flush()
    };
    write(&mut w).with_context(|| format!("cannot write the latency CSV to {}", path.display()))
}
