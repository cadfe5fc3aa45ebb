//! The committed fuzz corpora of the bridge's inputs (MQTT commands, configuration files, the
//! device states it publishes), replayed through the fuzz targets' own checks
//! (`fuzz/checks/`), with mutations. See the README's Fuzzing section.

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[path = "../../../fuzz/checks/config.rs"]
mod config;
#[path = "../../../fuzz/checks/device_state.rs"]
mod device_state;
#[path = "../../../fuzz/checks/mqtt_command.rs"]
mod mqtt_command;

#[test]
fn mqtt_command_corpus() {
    replay::corpus("mqtt_command", 4, mqtt_command::run);
}

#[test]
fn config_corpus() {
    replay::corpus("config", 8, config::run);
}

#[test]
fn device_state_corpus() {
    replay::corpus("device_state", 4, device_state::run);
}
