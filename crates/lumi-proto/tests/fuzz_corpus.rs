//! The committed fuzz corpora of lumi-proto's decoders, replayed through the fuzz targets'
//! own checks (`fuzz/checks/`), with mutations. See the README's Fuzzing section.

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[path = "../../../fuzz/checks/lan_decode.rs"]
mod lan_decode;
#[path = "../../../fuzz/checks/miio_gateway.rs"]
mod miio_gateway;
#[path = "../../../fuzz/checks/miio_open.rs"]
mod miio_open;
#[path = "../../../fuzz/checks/sessions.rs"]
mod sessions;

#[test]
fn lan_decode_corpus() {
    replay::corpus("lan_decode", 8, lan_decode::run);
}

#[test]
fn miio_open_corpus() {
    replay::corpus("miio_open", 8, miio_open::run);
}

#[test]
fn miio_gateway_corpus() {
    replay::corpus("miio_gateway", 8, miio_gateway::run);
}

#[test]
fn sessions_corpus() {
    replay::corpus("sessions", 8, sessions::run);
}
