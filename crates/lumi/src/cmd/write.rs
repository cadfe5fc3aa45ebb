//! `lumi write SID key=value...`: raw properties to a device.

use std::time::Duration;

use lumi_client::gateway::Event;
use lumi_proto::lan::{Props, Sid};
use serde_json::Value;

use super::lan::{self, Lan, Needs, client_error};
use crate::cli::{Global, WriteArgs};
use crate::exit::bad_input;

/// How long to wait for the device's report after the gateway accepted the write.
const REPORT_WAIT: Duration = Duration::from_secs(2);

pub fn run(args: WriteArgs, g: &Global) -> anyhow::Result<()> {
    let sid = lan::parse_sid(&args.sid)?;
    let mut props = Props::new();
    for pair in &args.props {
        let (k, v) = parse_pair(pair)?;
        props.push(k, v);
    }
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(write(&lan, sid, props))
}

/// `key=value`: numbers (JSON syntax) as numbers, `"…"` as a JSON string, the rest as text.
fn parse_pair(pair: &str) -> anyhow::Result<(String, Value)> {
    let shown = lumi_proto::sanitize::truncated(pair, 60);
    let Some((k, v)) = pair.split_once('=') else {
        return Err(bad_input(format!(
            "{shown:?}: expected key=value (e.g. status=on or channel_0=off)"
        )));
    };
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad_input(format!(
            "{shown:?}: the key must be letters, digits and _ (e.g. channel_0=on)"
        )));
    }
    let value = if v.starts_with('"') {
        Value::String(serde_json::from_str::<String>(v).map_err(|e| {
            bad_input(format!(
                "{shown:?}: a quoted value must be a JSON string ({e})"
            ))
        })?)
    } else if let Ok(n) = v.parse::<serde_json::Number>() {
        Value::Number(n)
    } else {
        Value::String(v.to_owned())
    };
    Ok((k.to_owned(), value))
}

async fn write(lan: &Lan, sid: Sid, props: Props) -> anyhow::Result<()> {
    let (client, mut events) = lan.start_listening_if_possible(Needs {
        listen: true,
        devices: true,
    })?;
    let r = client.write(&sid, props).await;
    let gateways = client.gateways().await.map(|g| g.len()).unwrap_or(0);
    let ack = match r {
        Ok(d) => d,
        Err(e) => {
            client.shutdown().await;
            if gateways == 0 {
                tracing::debug!("{e}");
                return Err(lan.nobody().context(format!("cannot write {sid}")));
            }
            return Err(client_error(e));
        }
    };
    let wait = REPORT_WAIT.min(lan.settings.timeout);
    let report = tokio::time::timeout(
        wait,
        events.wait_for(|e| match e {
            Event::Report { sid: s, .. } if *s == sid => Some(e.clone()),
            _ => None,
        }),
    )
    .await
    .ok()
    .flatten();
    client.shutdown().await;
    if lan.settings.json {
        super::print_json(&ack, true)?;
        if let Some(r) = &report {
            super::print_json(r, true)?;
        }
        return Ok(());
    }
    super::out(&format!(
        "{} accepted by gateway {}; before: {}",
        ack.sid,
        ack.gateway,
        lan::state_text(&ack.state)
    ));
    match report {
        Some(Event::Report { state, .. }) => {
            super::out(&format!("{} reports: {}", ack.sid, lan::state_text(&state)));
        }
        _ => {
            super::out(&format!(
                "{} sent no report within {wait:?} (nothing changed, or multicast does not reach this host)",
                ack.sid
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_and_errors_name_the_pair() {
        assert_eq!(
            parse_pair("status=on").unwrap(),
            ("status".into(), Value::from("on"))
        );
        assert_eq!(
            parse_pair("rgb=1694433280").unwrap().1,
            Value::from(1694433280u64)
        );
        assert_eq!(parse_pair("level=-1.5").unwrap().1, serde_json::json!(-1.5));
        assert_eq!(parse_pair("x=007").unwrap().1, Value::from("007"));
        assert_eq!(
            parse_pair("curtain_level=\"50\"").unwrap().1,
            Value::from("50")
        );
        assert_eq!(parse_pair("a=b=c").unwrap().1, Value::from("b=c"));
        for bad in ["status", "=on", "st atus=on", "x=\"unterminated"] {
            let e = parse_pair(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
            assert_eq!(crate::exit::code_for(&e), crate::exit::BAD_INPUT);
        }
    }
}
