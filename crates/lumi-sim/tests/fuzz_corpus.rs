//! The committed fuzz corpora of the simulator's inputs (`lumi sim` scenario files, datagrams
//! from clients), replayed through the fuzz targets' own checks (`fuzz/checks/`), with
//! mutations. See the README's Fuzzing section.

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[path = "../../../fuzz/checks/scenario.rs"]
mod scenario;
#[path = "../../../fuzz/checks/sim_servers.rs"]
mod sim_servers;

#[test]
fn scenario_corpus() {
    replay::corpus("scenario", 8, scenario::run);
}

#[test]
fn sim_servers_corpus() {
    replay::corpus("sim_servers", 4, sim_servers::run);
}
