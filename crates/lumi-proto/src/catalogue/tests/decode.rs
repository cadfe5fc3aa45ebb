//! Raw → typed, table-driven, with real values from the corpus.

use serde_json::{Value, json};

use super::{dec, props};
use crate::catalogue::{TypedValue, battery_percent, decode};
use crate::lan::ProtoVersion::{self, V1, V2};

struct Case {
    model: &'static str,
    version: ProtoVersion,
    props: Value,
    values: Value,
    raw: Value,
}

fn case(model: &'static str, version: ProtoVersion, props: Value, values: Value) -> Case {
    Case {
        model,
        version,
        props,
        values,
        raw: json!({}),
    }
}

fn run(cases: Vec<Case>) {
    for c in cases {
        let (values, raw) = dec(c.model, c.version, c.props.clone());
        assert_eq!(values, c.values, "{} {} {}", c.model, c.version, c.props);
        assert_eq!(raw, c.raw, "raw of {} {} {}", c.model, c.version, c.props);
    }
}

#[test]
fn temperature_humidity_pressure() {
    run(vec![
        // MiOrleans read_ack (real capture).
        case(
            "sensor_ht",
            V1,
            json!([
                ["voltage", 3005],
                ["temperature", "2120"],
                ["humidity", "5277"]
            ]),
            json!({"temperature": 21.2, "humidity": 52.77, "battery": 41, "voltage": 3005}),
        ),
        case(
            "sensor_ht",
            V1,
            json!([["temperature", "2842"], ["humidity", "2652"]]),
            json!({"temperature": 28.42, "humidity": 26.52}),
        ),
        case(
            "sensor_ht",
            V1,
            json!([
                ["voltage", 3015],
                ["temperature", "2272"],
                ["humidity", "5022"]
            ]),
            json!({"temperature": 22.72, "humidity": 50.22, "battery": 43, "voltage": 3015}),
        ),
        case(
            "sensor_ht",
            V1,
            json!([["temperature", "-150"]]),
            json!({"temperature": -1.5}),
        ),
        // v2 weather heartbeat (OC-V2 doc).
        case(
            "weather",
            V2,
            json!([
                ["battery_voltage", 3000],
                ["temperature", 2333],
                ["humidity", 6678],
                ["pressure", 99900]
            ]),
            json!({"temperature": 23.33, "humidity": 66.78, "pressure": 999.0, "battery": 40, "voltage": 3000}),
        ),
        case(
            "weather.v1",
            V1,
            json!([["pressure", "100120"]]),
            json!({"pressure": 1001.2}),
        ),
        case(
            "weather.v1",
            V1,
            json!([["temperature", "1983"]]),
            json!({"temperature": 19.83}),
        ),
        case(
            "weather.v1",
            V1,
            json!([["humidity", "3914"]]),
            json!({"humidity": 39.14}),
        ),
        // The v2 doc's "invalid" defaults are no value.
        case(
            "weather",
            V2,
            json!([["temperature", 10000], ["humidity", 0], ["pressure", 0]]),
            json!({"temperature": null, "humidity": null, "pressure": null}),
        ),
        case(
            "weather.v1",
            V1,
            json!([
                ["temperature", "10000"],
                ["humidity", "0"],
                ["pressure", "0"]
            ]),
            json!({"temperature": null, "humidity": null, "pressure": null}),
        ),
    ]);
}

#[test]
fn v1_and_v2_give_the_same_state() {
    let same = [
        (
            "weather.v1",
            json!([
                ["temperature", "2333"],
                ["humidity", "6678"],
                ["pressure", "99900"],
                ["voltage", 3000]
            ]),
            "weather",
            json!([
                ["battery_voltage", 3000],
                ["temperature", 2333],
                ["humidity", 6678],
                ["pressure", 99900]
            ]),
        ),
        (
            "sensor_magnet.aq2",
            json!([["voltage", 2965], ["status", "close"]]),
            "sensor_magnet.aq2",
            json!([["window_status", "close"], ["battery_voltage", 2965]]),
        ),
        (
            "magnet",
            json!([["status", "open"]]),
            "sensor_magnet",
            json!([["window_status", "open"]]),
        ),
        (
            "motion",
            json!([["status", "motion"]]),
            "sensor_motion",
            json!([["motion_status", "motion"]]),
        ),
        (
            "switch",
            json!([["status", "click"]]),
            "sensor_switch",
            json!([["button_0", "click"]]),
        ),
        (
            "sensor_switch.aq2",
            json!([["status", "double_click"]]),
            "sensor_switch.aq2",
            json!([["button_0", "double_click"]]),
        ),
        (
            "86sw1",
            json!([["channel_0", "click"]]),
            "sensor_86sw1.aq1",
            json!([["button_0", "click"]]),
        ),
        (
            "86sw2",
            json!([["channel_1", "double_click"]]),
            "sensor_86sw2.aq1",
            json!([["button_1", "double_click"]]),
        ),
        (
            "86sw2",
            json!([["dual_channel", "both_click"]]),
            "sensor_86sw2.aq1",
            json!([["dual_channel", "click"]]),
        ),
        (
            "86sw2",
            json!([["dual_channel", "both_click"]]),
            "sensor_86sw2.aq1",
            json!([["dual_channel", "both_click"]]),
        ),
        (
            "cube",
            json!([["rotate", "-25,500"]]),
            "sensor_cube",
            json!([
                ["cube_status", "rotate"],
                ["rotate_degree", -90],
                ["detect_time ", 500]
            ]),
        ),
        (
            "cube",
            json!([["status", "flip90"]]),
            "sensor_cube.aqgl01",
            json!([["cube_status", "flip90"]]),
        ),
        (
            "plug",
            json!([
                ["status", "on"],
                ["load_power", "9.57"],
                ["power_consumed", "57"]
            ]),
            "plug",
            json!([
                ["channel_0", "on"],
                ["load_power", 9.57],
                ["energy_consumed", 57]
            ]),
        ),
        (
            "ctrl_86plug",
            json!([["status", "off"]]),
            "ctrl_86plug.aq1",
            json!([["channel_0", "off"]]),
        ),
        (
            "sensor_wleak.aq1",
            json!([["status", "leak"]]),
            "sensor_wleak.aq1",
            json!([["wleak_status", "leak"]]),
        ),
        (
            "sensor_wleak.aq1",
            json!([["status", "no_leak"]]),
            "sensor_wleak.aq1",
            json!([["wleak_status", "normal"]]),
        ),
        (
            "curtain",
            json!([["curtain_level", "25"]]),
            "curtain",
            json!([["curtain_level", 25]]),
        ),
        (
            "ctrl_neutral2",
            json!([["channel_0", "on"], ["channel_1", "off"]]),
            "ctrl_neutral2",
            json!([["channel_1", "off"], ["channel_0", "on"]]),
        ),
        (
            "gateway",
            json!([
                ["rgb", 1694433280],
                ["illumination", 1292],
                ["proto_version", "1.0.9"]
            ]),
            "gateway.v3",
            json!([
                ["rgb", 1694433280],
                ["illumination", 1292],
                ["proto_version", "1.0.9"]
            ]),
        ),
    ];
    for (m1, p1, m2, p2) in same {
        let a = decode(m1, V1, &props(p1.clone()));
        let b = decode(m2, V2, &props(p2.clone()));
        assert!(!a.readings.is_empty(), "{m1} {p1}");
        assert_eq!(a.readings, b.readings, "{m1} {p1} vs {m2} {p2}");
        assert!(
            a.raw.is_empty() && b.raw.is_empty(),
            "{:?} {:?}",
            a.raw,
            b.raw
        );
    }
    // The v1 alarm code also tells faults apart, which v2 cannot: the alarm itself agrees.
    for (m1, code, m2, status) in [
        ("natgas", "1", "sensor_natgas", "alarm"),
        ("natgas", "2", "sensor_natgas", "alarm"),
        ("natgas", "0", "sensor_natgas", "normal"),
        ("smoke", "1", "sensor_smoke", "alarm"),
        ("smoke", "0", "sensor_smoke", "normal"),
    ] {
        let a = decode(m1, V1, &props(json!([["alarm", code]])));
        let key = if m2 == "sensor_natgas" {
            "natgas_status"
        } else {
            "smoke_status"
        };
        let b = decode(m2, V2, &props(json!([[key, status]])));
        assert_eq!(a.get("alarm"), b.get("alarm"), "{m1} {code}");
        assert!(a.get("alarm").is_some());
    }
}

#[test]
fn battery_mapping() {
    for (mv, pct) in [
        (3300.0, 100),
        (3600.0, 100),
        (3005.0, 41),
        (2965.0, 33),
        (3055.0, 51),
        (2800.0, 0),
        (2799.0, 0),
        (0.0, 0),
        (-5.0, 0),
        (1e300, 100),
        (f64::NAN, 0),
        (f64::INFINITY, 100),
    ] {
        assert_eq!(battery_percent(mv), pct, "{mv}");
    }
    run(vec![
        // Old firmware sent a percentage; a string voltage is a voltage.
        case(
            "motion",
            V1,
            json!([["battery", "65"]]),
            json!({"battery": 65}),
        ),
        case(
            "motion",
            V1,
            json!([["voltage", "3000"]]),
            json!({"battery": 40, "voltage": 3000}),
        ),
        // Mains devices have no battery: their 3600 is only a voltage.
        case(
            "plug",
            V1,
            json!([["voltage", 3600]]),
            json!({"voltage": 3600}),
        ),
        case(
            "ctrl_ln2.aq1",
            V1,
            json!([["voltage", 3600]]),
            json!({"voltage": 3600}),
        ),
        case(
            "ctrl_neutral1",
            V1,
            json!([["voltage", 3300], ["channel_0", "off"]]),
            json!({"state": "off", "voltage": 3300}),
        ),
        case(
            "lock.aq1",
            V1,
            json!([["voltage", 3387]]),
            json!({"battery": 100, "voltage": 3387}),
        ),
    ]);
}

#[test]
fn contact_and_motion() {
    run(vec![
        case(
            "magnet",
            V1,
            json!([["status", "open"]]),
            json!({"contact": false}),
        ),
        case(
            "magnet",
            V1,
            json!([["voltage", 3115], ["status", "open"]]),
            json!({"contact": false, "battery": 63, "voltage": 3115}),
        ),
        case(
            "sensor_magnet.aq2",
            V1,
            json!([["no_close", "60"]]),
            json!({"contact": false, "no_close_seconds": 60}),
        ),
        case(
            "sensor_magnet.aq2",
            V2,
            json!([["window_status", "unknown"]]),
            json!({"contact": null}),
        ),
        case(
            "motion",
            V1,
            json!([["status", "motion"]]),
            json!({"occupancy": true}),
        ),
        // HA binary_sensor.py docstring: no_motion "120" after two minutes without motion.
        case(
            "motion",
            V1,
            json!([["no_motion", "120"]]),
            json!({"occupancy": false, "no_motion_seconds": 120}),
        ),
        case(
            "motion",
            V1,
            json!([["no_motion", "300"]]),
            json!({"occupancy": false, "no_motion_seconds": 300}),
        ),
        case(
            "sensor_motion",
            V2,
            json!([["battery_voltage", 3095], ["motion_status", "motion"]]),
            json!({"occupancy": true, "battery": 59, "voltage": 3095}),
        ),
        case(
            "sensor_motion.aq2",
            V2,
            json!([["motion_status", "unknown"]]),
            json!({"occupancy": null}),
        ),
        case(
            "sensor_motion.aq2",
            V2,
            json!([["battery_voltage", 3000], ["lux", 50]]),
            json!({"illuminance": 50, "battery": 40, "voltage": 3000}),
        ),
        // Two keys for one property: the later one wins.
        case(
            "sensor_motion.aq2",
            V2,
            json!([["lux", 50], ["illumination", 100]]),
            json!({"illuminance": 100}),
        ),
        case(
            "sensor_motion.aq2",
            V1,
            json!([["lux", "7"]]),
            json!({"illuminance": 7}),
        ),
        case(
            "sensor_wleak.aq1",
            V1,
            json!([["status", "leak"]]),
            json!({"water_leak": true}),
        ),
        case(
            "sensor_wleak.aq1",
            V2,
            json!([["wleak_status", "normal"]]),
            json!({"water_leak": false}),
        ),
    ]);
}

#[test]
fn buttons() {
    run(vec![
        case(
            "switch",
            V1,
            json!([["status", "click"]]),
            json!({"action": "single"}),
        ),
        case(
            "switch",
            V1,
            json!([["status", "double_click"]]),
            json!({"action": "double"}),
        ),
        case(
            "switch",
            V1,
            json!([["status", "long_click_press"]]),
            json!({"action": "long"}),
        ),
        case(
            "switch",
            V1,
            json!([["status", "long_click_release"]]),
            json!({"action": "long_release"}),
        ),
        case(
            "sensor_switch.aq2",
            V2,
            json!([["button_0", "click"]]),
            json!({"action": "single"}),
        ),
        case(
            "remote.b1acn01",
            V1,
            json!([["status", "double_click"]]),
            json!({"action": "double"}),
        ),
        case(
            "sensor_switch.aq3",
            V1,
            json!([["status", "shake"]]),
            json!({"action": "shake"}),
        ),
        case(
            "sensor_switch.aq3",
            V2,
            json!([["button_0", "shake"]]),
            json!({"action": "shake"}),
        ),
        case(
            "86sw1",
            V1,
            json!([["channel_0", "click"]]),
            json!({"action": "single"}),
        ),
        case(
            "86sw1",
            V1,
            json!([["channel_0", "long_click"]]),
            json!({"action": "long"}),
        ),
        case(
            "sensor_86sw1.aq1",
            V2,
            json!([["button_0", "double_click"]]),
            json!({"action": "double"}),
        ),
        case(
            "86sw2",
            V1,
            json!([["channel_0", "click"]]),
            json!({"action": "single_left"}),
        ),
        case(
            "86sw2",
            V1,
            json!([["channel_1", "click"]]),
            json!({"action": "single_right"}),
        ),
        case(
            "86sw2",
            V1,
            json!([["channel_0", "long_click"]]),
            json!({"action": "long_left"}),
        ),
        case(
            "86sw2",
            V1,
            json!([["dual_channel", "both_click"]]),
            json!({"action": "single_both"}),
        ),
        case(
            "86sw2",
            V1,
            json!([["dual_channel", "double_both_click"]]),
            json!({"action": "double_both"}),
        ),
        case(
            "86sw2",
            V1,
            json!([["dual_channel", "long_both_click"]]),
            json!({"action": "long_both"}),
        ),
        case(
            "sensor_86sw2.aq1",
            V2,
            json!([["button_1", "double_click"]]),
            json!({"action": "double_right"}),
        ),
        case(
            "sensor_86sw2.aq1",
            V2,
            json!([["button_0", "click"]]),
            json!({"action": "single_left"}),
        ),
        case(
            "sensor_86sw2.aq1",
            V2,
            json!([["dual_channel", "click"]]),
            json!({"action": "single_both"}),
        ),
        case(
            "remote.b286acn02",
            V2,
            json!([["dual_channel", "both_click"]]),
            json!({"action": "single_both"}),
        ),
        // Case and spaces do not matter.
        case(
            "switch",
            V1,
            json!([["status", " Click "]]),
            json!({"action": "single"}),
        ),
        // An event the model cannot make stays raw.
        Case {
            raw: json!({"status": "shake"}),
            ..case("switch", V1, json!([["status", "shake"]]), json!({}))
        },
        Case {
            raw: json!({"status": "triple_click"}),
            ..case("switch", V1, json!([["status", "triple_click"]]), json!({}))
        },
    ]);
}

#[test]
fn cube() {
    run(vec![
        case(
            "cube",
            V1,
            json!([["rotate", "25,500"]]),
            json!({"action": "rotate_right", "angle": 90, "duration": 500}),
        ),
        case(
            "cube",
            V1,
            json!([["rotate", "-25,500"]]),
            json!({"action": "rotate_left", "angle": -90, "duration": 500}),
        ),
        case(
            "cube",
            V1,
            json!([["rotate", "6,500"]]),
            json!({"action": "rotate_right", "angle": 21.6, "duration": 500}),
        ),
        case(
            "sensor_cube.aqgl01",
            V1,
            json!([["rotate", "20,500"]]),
            json!({"action": "rotate_right", "angle": 72, "duration": 500}),
        ),
        case(
            "cube",
            V1,
            json!([["rotate", "-7,120"]]),
            json!({"action": "rotate_left", "angle": -25.2, "duration": 120}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([
                ["cube_status", "rotate"],
                ["rotate_degree", -90],
                ["detect_time", 500]
            ]),
            json!({"action": "rotate_left", "angle": -90, "duration": 500}),
        ),
        // The doc's key with a trailing space, and the angle before the status.
        case(
            "sensor_cube.aqgl01",
            V2,
            json!([
                ["rotate_degree", 45],
                ["cube_status", "rotate"],
                ["detect_time ", 300]
            ]),
            json!({"action": "rotate_right", "angle": 45, "duration": 300}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "rotate"]]),
            json!({"action": "rotate"}),
        ),
        case(
            "cube",
            V1,
            json!([["status", "flip90"]]),
            json!({"action": "flip90"}),
        ),
        case(
            "sensor_cube.aqgl01",
            V1,
            json!([["status", "alert"]]),
            json!({"action": "wakeup"}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "flip180"]]),
            json!({"action": "flip180"}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "move"]]),
            json!({"action": "slide"}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "tap_twice"]]),
            json!({"action": "tap"}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "shake_air"]]),
            json!({"action": "shake"}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "swing"]]),
            json!({"action": "throw"}),
        ),
        case(
            "sensor_cube",
            V2,
            json!([["cube_status", "free_fall"]]),
            json!({"action": "fall"}),
        ),
        case(
            "cube",
            V1,
            json!([["voltage", 2800]]),
            json!({"battery": 0, "voltage": 2800}),
        ),
        Case {
            raw: json!({"rotate": "25;500"}),
            ..case("cube", V1, json!([["rotate", "25;500"]]), json!({}))
        },
    ]);
}

#[test]
fn vibration() {
    run(vec![
        case(
            "vibration",
            V1,
            json!([["coordination", "10,84,1248"]]),
            json!({"x_axis": 10, "y_axis": 84, "z_axis": 1248}),
        ),
        case(
            "vibration",
            V1,
            json!([["coordination", "-475,119,1147"]]),
            json!({"x_axis": -475, "y_axis": 119, "z_axis": 1147}),
        ),
        case(
            "vibration",
            V1,
            json!([["final_tilt_angle", "179"]]),
            json!({"tilt_angle": 179}),
        ),
        case(
            "vibration",
            V1,
            json!([["bed_activity", "120"]]),
            json!({"bed_activity": 120}),
        ),
        case(
            "vibration",
            V1,
            json!([["status", "vibrate"]]),
            json!({"action": "vibration"}),
        ),
        case(
            "vibration",
            V1,
            json!([["status", "tilt"]]),
            json!({"action": "tilt"}),
        ),
        case(
            "vibration.aq1",
            V1,
            json!([["status", "free_fall"]]),
            json!({"action": "fall"}),
        ),
        case(
            "vibration.aq1",
            V2,
            json!([["final_tilt_angel", 19]]),
            json!({"tilt_angle": 19}),
        ),
        Case {
            raw: json!({"coordination": "1,2"}),
            ..case("vibration", V1, json!([["coordination", "1,2"]]), json!({}))
        },
    ]);
}

#[test]
fn gas_and_smoke_alarm_codes() {
    run(vec![
        case(
            "natgas",
            V1,
            json!([["alarm", "0"]]),
            json!({"alarm": false, "fault": "none"}),
        ),
        case(
            "natgas",
            V1,
            json!([["alarm", "1"]]),
            json!({"alarm": true, "fault": "none"}),
        ),
        case(
            "natgas",
            V1,
            json!([["alarm", "2"]]),
            json!({"alarm": true, "fault": "none"}),
        ),
        case(
            "natgas",
            V1,
            json!([["alarm", "64"]]),
            json!({"alarm": null, "fault": "sensitivity_fault"}),
        ),
        case(
            "natgas",
            V1,
            json!([["alarm", "32768"]]),
            json!({"alarm": null, "fault": "i2c_failure"}),
        ),
        case(
            "smoke",
            V1,
            json!([["alarm", 8]]),
            json!({"alarm": null, "fault": "battery_fault"}),
        ),
        case(
            "smoke",
            V1,
            json!([["alarm", "0"]]),
            json!({"alarm": false, "fault": "none"}),
        ),
        case(
            "smoke",
            V1,
            json!([["density", "0"]]),
            json!({"density": 0}),
        ),
        case(
            "natgas",
            V1,
            json!([["density", "12.5"]]),
            json!({"density": 12.5}),
        ),
        case(
            "sensor_natgas",
            V2,
            json!([["natgas_status", "alarm"]]),
            json!({"alarm": true}),
        ),
        case(
            "sensor_smoke",
            V2,
            json!([["smoke_status", "normal"]]),
            json!({"alarm": false}),
        ),
        case(
            "smoke",
            V1,
            json!([["voltage", 3225]]),
            json!({"battery": 85, "voltage": 3225}),
        ),
        Case {
            raw: json!({"alarm": "5"}),
            ..case("natgas", V1, json!([["alarm", "5"]]), json!({}))
        },
    ]);
}

#[test]
fn curtain_level() {
    run(vec![
        case(
            "curtain",
            V1,
            json!([["curtain_level", "50"]]),
            json!({"level": 50}),
        ),
        case(
            "curtain",
            V2,
            json!([["curtain_level", 25]]),
            json!({"level": 25}),
        ),
        case(
            "curtain",
            V2,
            json!([["curtain_level", -1]]),
            json!({"level": null}),
        ),
        case(
            "curtain",
            V2,
            json!([["curtain_level", 255]]),
            json!({"level": null}),
        ),
        case(
            "curtain.aq2",
            V1,
            json!([["curtain_level", "-1"]]),
            json!({"level": null}),
        ),
        case(
            "curtain.hagl04",
            V1,
            json!([["curtain_level", "255"]]),
            json!({"level": null}),
        ),
        case(
            "curtain",
            V1,
            json!([["status", "open"]]),
            json!({"motor": "open"}),
        ),
        case(
            "curtain",
            V2,
            json!([["curtain_status", "stop"]]),
            json!({"motor": "stop"}),
        ),
        Case {
            raw: json!({"curtain_level": 150}),
            ..case("curtain", V2, json!([["curtain_level", 150]]), json!({}))
        },
    ]);
}

#[test]
fn plugs_and_switches() {
    run(vec![
        // PyXiaomiGateway / HA issue read_ack (real capture).
        case(
            "plug",
            V1,
            json!([
                ["voltage", 3600],
                ["status", "on"],
                ["inuse", "1"],
                ["power_consumed", "6667"],
                ["load_power", "24.76"]
            ]),
            json!({"state": "on", "power": 24.76, "energy": 6667, "in_use": true, "voltage": 3600}),
        ),
        case(
            "plug",
            V1,
            json!([
                ["voltage", 3600],
                ["status", "on"],
                ["inuse", "0"],
                ["power_consumed", "26326"],
                ["load_power", "0.00"]
            ]),
            json!({"state": "on", "power": 0, "energy": 26326, "in_use": false, "voltage": 3600}),
        ),
        case(
            "plug",
            V2,
            json!([["load_power", 9.57], ["energy_consumed", 57]]),
            json!({"power": 9.57, "energy": 57}),
        ),
        case(
            "ctrl_86plug",
            V2,
            json!([["channel_0", "unknown"]]),
            json!({"state": null}),
        ),
        case(
            "ctrl_neutral2",
            V1,
            json!([["channel_0", "on"], ["channel_1", "off"]]),
            json!({"state_left": "on", "state_right": "off"}),
        ),
        case(
            "ctrl_neutral2",
            V2,
            json!([
                ["battery_voltage", 3300],
                ["channel_0", "off"],
                ["channel_1", "off"]
            ]),
            json!({"state_left": "off", "state_right": "off", "voltage": 3300}),
        ),
        case(
            "ctrl_ln1",
            V2,
            json!([["channel_0", "on"]]),
            json!({"state": "on"}),
        ),
        case(
            "ctrl_ln2",
            V2,
            json!([["channel_1", "on"]]),
            json!({"state_right": "on"}),
        ),
        case(
            "switch.b2nacn02",
            V2,
            json!([["channel_0", "off"]]),
            json!({"state_left": "off"}),
        ),
        case(
            "lumi.ctrl_dualchn",
            V2,
            json!([["channel_0", "on"]]),
            json!({"state_l1": "on"}),
        ),
        case(
            "relay.c2acn01",
            V1,
            json!([["channel_1", "off"]]),
            json!({"state_l2": "off"}),
        ),
        // A v2 key in a v1-labelled message still reads.
        case(
            "plug",
            V1,
            json!([["channel_0", "off"]]),
            json!({"state": "off"}),
        ),
        // The early doc's keys with spaces around them.
        case(
            "plug",
            V1,
            json!([[" load_power ", "9.57"]]),
            json!({"power": 9.57}),
        ),
    ]);
}

#[test]
fn lock() {
    run(vec![
        case(
            "lock.aq1",
            V1,
            json!([["fing_verified", 65536]]),
            json!({"unlock_method": "finger", "user_id": 0}),
        ),
        case(
            "lock.aq1",
            V1,
            json!([["fing_verified", 65537]]),
            json!({"unlock_method": "finger", "user_id": 1}),
        ),
        case(
            "lock.aq1",
            V1,
            json!([["psw_verified", 131074]]),
            json!({"unlock_method": "password", "user_id": 2}),
        ),
        case(
            "lock.aq1",
            V1,
            json!([["card_verified", 196608]]),
            json!({"unlock_method": "card", "user_id": 0}),
        ),
        case(
            "lock.acn02",
            V1,
            json!([["card_verified", "196613"]]),
            json!({"unlock_method": "card", "user_id": 5}),
        ),
        case(
            "lock.aq1",
            V1,
            json!([["verified_wrong", "3"]]),
            json!({"wrong_attempts": 3}),
        ),
        // No method in the high bits: the user id is still read, the pair is kept raw.
        Case {
            raw: json!({"fing_verified": 5}),
            ..case(
                "lock.aq1",
                V1,
                json!([["fing_verified", 5]]),
                json!({"user_id": 5}),
            )
        },
    ]);
}

#[test]
fn gateway() {
    let red = json!({"r": 255, "g": 0, "b": 0});
    let black = json!({"r": 0, "g": 0, "b": 0});
    let green = json!({"r": 0, "g": 255, "b": 0});
    run(vec![
        case(
            "gateway",
            V1,
            json!([
                ["rgb", 0],
                ["illumination", 1292],
                ["proto_version", "1.0.9"]
            ]),
            json!({"light": "off", "brightness": 0, "color": black, "illuminance": 1292, "proto_version": "1.0.9"}),
        ),
        case(
            "gateway",
            V1,
            json!([["rgb", 1694433280], ["illumination", 1292]]),
            json!({"light": "on", "brightness": 100, "color": red, "illuminance": 1292}),
        ),
        // The doc's green has brightness byte 0xFF: read as 100.
        case(
            "gateway.v3",
            V2,
            json!([
                ["rgb", 4278255360_u64],
                ["illumination", 500],
                ["proto_version", "2.0.0"]
            ]),
            json!({"light": "on", "brightness": 100, "color": green, "illuminance": 500, "proto_version": "2.0.0"}),
        ),
        case(
            "gateway",
            V1,
            json!([["ip", "172.16.15.100"]]),
            json!({"ip": "172.16.15.100"}),
        ),
        case(
            "acpartner.v3",
            V2,
            json!([["ip", "192.168.50.99"]]),
            json!({"ip": "192.168.50.99"}),
        ),
        case(
            "gateway",
            V1,
            json!([["mid", 10000], ["vol", 20]]),
            json!({"sound": "stop", "volume": 20}),
        ),
        case(
            "gateway",
            V1,
            json!([["mid", 11]]),
            json!({"sound": "knock_at_a_door"}),
        ),
        Case {
            raw: json!({"mid": 10005}),
            ..case("gateway", V1, json!([["mid", 10005]]), json!({}))
        },
        case(
            "gateway.aq1",
            V2,
            json!([["join_permission", "yes"]]),
            json!({"pairing": true}),
        ),
    ]);
}

#[test]
fn climate_dimmer_and_early_light() {
    run(vec![
        case(
            "airrtc.tcpecn01",
            V2,
            json!([["on_off_status", "on"]]),
            json!({"state": "on"}),
        ),
        case(
            "ctrl_hvac.aq1",
            V2,
            json!([["temp_cfg", 20], ["env_temp", 23]]),
            json!({"target_temperature": 20, "local_temperature": 23}),
        ),
        case(
            "acpartner.v3",
            V2,
            json!([
                ["mode_cfg", "wind"],
                ["ws_cfg", "middle"],
                ["swing_cfg", "unswing"]
            ]),
            json!({"system_mode": "fan_only", "fan_mode": "medium", "swing_mode": "off"}),
        ),
        case(
            "acpartner.v3",
            V2,
            json!([["on_off_cfg", "invalid"], ["relay_status", "on"]]),
            json!({"state": null, "relay": "on"}),
        ),
        case(
            "acpartner.v3",
            V2,
            json!([["illumination", 500], ["proto_version", "2.0.0"]]),
            json!({"illuminance": 500, "proto_version": "2.0.0"}),
        ),
        case(
            "dimmer.rgbegl01",
            V2,
            json!([["power_status", "on"], ["light_level", 40]]),
            json!({"state": "on", "brightness": 40}),
        ),
        // 845905783 = 0x326B_7F77: colour 6B 7F 77.
        case(
            "dimmer.rgbegl01",
            V2,
            json!([["light_rgb", 845905783]]),
            json!({"color": {"r": 0x6b, "g": 0x7f, "b": 0x77}}),
        ),
        case(
            "rgbw_light",
            V1,
            json!([["status", "on"], ["level", "126"]]),
            json!({"state": "on", "brightness": 126}),
        ),
        case(
            "rgbw_light",
            V1,
            json!([
                ["hue", "170"],
                ["saturation", "254"],
                ["color_temperature", "65279"],
                ["x", "10"],
                ["y", "10"]
            ]),
            json!({"color_temp": 65279, "color_x": 10, "color_y": 10, "hue": 170, "saturation": 254}),
        ),
    ]);
}

#[test]
fn unknown_models_and_properties_pass_through_raw() {
    let p = json!([["status", "open"], ["voltage", 3000], ["weird", {"a": [1]}]]);
    for model in ["", "lumi.unknown", "sensor_thing.aq9", "  "] {
        let state = decode(model, V1, &props(p.clone()));
        assert!(state.device.is_none());
        assert!(state.readings.is_empty());
        assert_eq!(state.raw, props(p.clone()), "{model:?}");
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            json!({"model": null, "values": {}, "raw": {"status": "open", "voltage": 3000, "weird": {"a": [1]}}})
        );
    }
    // Known model, unknown keys and unconvertible values: kept raw, in order, keys untouched.
    let state = decode(
        "sensor_ht",
        V1,
        &props(json!([
            ["foo", 1],
            [" temperature ", "2120"],
            ["humidity", "abc"],
            ["error", "Invalid key"],
            ["humidity", ""]
        ])),
    );
    assert_eq!(state.values_json(), json!({"temperature": 21.2}));
    assert_eq!(
        serde_json::to_string(&state.raw).unwrap(),
        r#"{"foo":1,"humidity":"abc","error":"Invalid key","humidity":""}"#
    );
    assert_eq!(state.get("temperature"), Some(&TypedValue::Float(21.2)));
    assert_eq!(state.get("humidity"), None);
    assert!(!state.is_empty());
    assert!(decode("plug", V2, &props(json!([]))).is_empty());
}

#[test]
fn device_state_serialises_for_the_cli() {
    let state = decode(
        "plug",
        V1,
        &props(json!([
            ["status", "on"],
            ["load_power", "24.76"],
            ["load_voltage", "234300"]
        ])),
    );
    assert_eq!(
        serde_json::to_string(&state).unwrap(),
        r#"{"model":"plug","values":{"state":"on","power":24.76},"raw":{"load_voltage":"234300"}}"#
    );
}
