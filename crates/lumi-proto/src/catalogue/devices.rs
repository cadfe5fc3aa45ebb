//! The catalogue tables: one [`Device`] per model, built from shared [`Property`] definitions.
//!
//! Adding a model is adding one entry to [`DEVICES`] (and, for a new kind of property, one
//! `const` below). Sources of every key and value: `lan-api.md` §7–§8 and the corpus.

use super::model::{
    AlarmCode, Codec, Device, DeviceKind, EntityCategory, HaComponent, HaEntity, HaPart, HaPayload,
    HaRole, Manufacturer, PowerSource, Property, RgbPart, Scalar, Source, StateClass, ValueType,
    Write,
};
use super::sound::SOUND_NAMES;

// ---------------------------------------------------------------------------------------------
// Building blocks

const fn src(key: &'static str, codec: Codec) -> Source {
    Source { key, codec }
}

/// The defaults every property starts from.
const P: Property = Property {
    name: "",
    description: "",
    value: ValueType::Text,
    unit: None,
    write: None,
    v1: &[],
    v2: &[],
    ha: None,
};

/// The defaults every Home Assistant entity starts from (a plain sensor).
const HA: HaEntity = HaEntity {
    component: HaComponent::Sensor,
    device_class: None,
    unit: None,
    state_class: None,
    entity_category: None,
    icon: None,
    enabled_by_default: true,
    payload: None,
    parts: &[],
};

/// A measurement sensor.
const fn sensor(device_class: Option<&'static str>, unit: Option<&'static str>) -> HaEntity {
    HaEntity {
        device_class,
        unit,
        state_class: Some(StateClass::Measurement),
        ..HA
    }
}

/// A diagnostic measurement sensor.
const fn diagnostic(device_class: Option<&'static str>, unit: Option<&'static str>) -> HaEntity {
    HaEntity {
        entity_category: Some(EntityCategory::Diagnostic),
        ..sensor(device_class, unit)
    }
}

/// A binary sensor whose "on" is the boolean `true`.
const fn binary(device_class: &'static str) -> HaEntity {
    HaEntity {
        component: HaComponent::BinarySensor,
        device_class: Some(device_class),
        payload: Some(BOOL_PAYLOAD),
        ..HA
    }
}

/// A switch with `on`/`off` texts.
const fn switch(device_class: &'static str) -> HaEntity {
    HaEntity {
        component: HaComponent::Switch,
        device_class: Some(device_class),
        payload: Some(ON_OFF_PAYLOAD),
        ..HA
    }
}

/// An enum sensor (`device_class: enum`, options = the property's values).
const fn enum_sensor(icon: &'static str) -> HaEntity {
    HaEntity {
        device_class: Some("enum"),
        icon: Some(icon),
        ..HA
    }
}

/// Device triggers, one per event.
const TRIGGER: HaEntity = HaEntity {
    component: HaComponent::DeviceTrigger,
    ..HA
};

const BOOL_PAYLOAD: HaPayload = HaPayload {
    on: Scalar::Bool(true),
    off: Scalar::Bool(false),
};
const ON_OFF_PAYLOAD: HaPayload = HaPayload {
    on: Scalar::Text("on"),
    off: Scalar::Text("off"),
};

const fn part(role: HaRole, property: &'static str) -> HaPart {
    HaPart { role, property }
}

const fn int(min: i64, max: i64) -> ValueType {
    ValueType::Integer {
        min: Some(min),
        max: Some(max),
    }
}
const INT: ValueType = ValueType::Integer {
    min: None,
    max: None,
};
const NUM: ValueType = ValueType::Number {
    min: None,
    max: None,
};

const INTEGER: Codec = Codec::Integer { invalid: &[] };
const HUNDREDTHS: Codec = Codec::Scaled {
    divisor: 100,
    invalid: &[],
};

// ---------------------------------------------------------------------------------------------
// Value maps (raw → canonical)

const ON_OFF: &[(&str, &str)] = &[("on", "on"), ("off", "off")];
const ON_OFF_VALUES: &[&str] = &["on", "off"];
const WRITE_ON_OFF: Write = Write::Enum(&[("on", "on"), ("off", "off")]);
const WRITE_ON_OFF_TOGGLE: Write =
    Write::Enum(&[("on", "on"), ("off", "off"), ("toggle", "toggle")]);

/// Push-button actions: v1 `status` and v2 `button_0` values (`hold` is in Home Assistant's
/// list for the Aqara button).
const BUTTON: &[(&str, &str)] = &[
    ("click", "single"),
    ("double_click", "double"),
    ("long_click_press", "long"),
    ("hold", "long"),
    ("long_click_release", "long_release"),
];
/// The same, plus the gyroscope's `shake`.
const BUTTON_SHAKE: &[(&str, &str)] = &[
    ("click", "single"),
    ("double_click", "double"),
    ("long_click_press", "long"),
    ("hold", "long"),
    ("long_click_release", "long_release"),
    ("shake", "shake"),
];
/// One-key wireless wall switch: v1 `channel_0`, v2 `button_0`.
const WALL: &[(&str, &str)] = &[
    ("click", "single"),
    ("double_click", "double"),
    ("long_click", "long"),
    ("long_click_press", "long"),
];
const LEFT: &[(&str, &str)] = &[
    ("click", "single_left"),
    ("double_click", "double_left"),
    ("long_click_press", "long_left"),
    ("long_click", "long_left"),
];
const RIGHT: &[(&str, &str)] = &[
    ("click", "single_right"),
    ("double_click", "double_right"),
    ("long_click_press", "long_right"),
    ("long_click", "long_right"),
];
/// `dual_channel`: v1 `both_click`…, v2 `click`… (ioBroker maps v2 `click` to `both_click`).
const BOTH: &[(&str, &str)] = &[
    ("both_click", "single_both"),
    ("double_both_click", "double_both"),
    ("long_both_click", "long_both"),
    ("click", "single_both"),
    ("double_click", "double_both"),
    ("long_click", "long_both"),
];
const CUBE: &[(&str, &str)] = &[
    ("flip90", "flip90"),
    ("flip180", "flip180"),
    ("move", "slide"),
    ("tap_twice", "tap"),
    ("shake_air", "shake"),
    ("swing", "throw"),
    ("alert", "wakeup"),
    ("free_fall", "fall"),
    ("rotate", "rotate"),
];
const VIBRATION: &[(&str, &str)] = &[
    ("vibrate", "vibration"),
    ("tilt", "tilt"),
    ("free_fall", "fall"),
];
const CURTAIN: &[(&str, &str)] = &[
    ("open", "open"),
    ("close", "close"),
    ("stop", "stop"),
    ("auto", "auto"),
];
const AC_MODE: &[(&str, &str)] = &[
    ("heat", "heat"),
    ("cool", "cool"),
    ("auto", "auto"),
    ("dry", "dry"),
    ("wind", "fan_only"),
    ("circle", "cycle"),
];
const AC_FAN: &[(&str, &str)] = &[
    ("low", "low"),
    ("middle", "medium"),
    ("high", "high"),
    ("auto", "auto"),
    ("circle", "cycle"),
];
const AC_SWING: &[(&str, &str)] = &[("swing", "on"), ("unswing", "off")];

const fn alarm_code(code: i64, alarm: Option<bool>, fault: &'static str) -> AlarmCode {
    AlarmCode { code, alarm, fault }
}

/// Gas and smoke detector `alarm` codes (ioBroker Alarm.js; Home Assistant treats 1 and 2 as
/// alarm; 8 is the smoke detector's battery fault).
const ALARM_CODES: &[AlarmCode] = &[
    alarm_code(0, Some(false), "none"),
    alarm_code(1, Some(true), "none"),
    alarm_code(2, Some(true), "none"), // "analog alarm"
    alarm_code(8, None, "battery_fault"),
    alarm_code(64, None, "sensitivity_fault"),
    alarm_code(32768, None, "i2c_failure"),
];
const FAULTS: &[&str] = &["none", "battery_fault", "sensitivity_fault", "i2c_failure"];

/// Lock `*_verified` methods: the value's high 16 bits.
const UNLOCK_METHODS: &[(u32, &str)] = &[(1, "finger"), (2, "password"), (3, "card")];

// Write maps are `(canonical, raw)`, the other way round from the read maps above.
const WRITE_CURTAIN: Write = Write::Enum(&[
    ("open", "open"),
    ("close", "close"),
    ("stop", "stop"),
    ("auto", "auto"),
]);
const WRITE_AC_MODE: Write = Write::Enum(&[
    ("heat", "heat"),
    ("cool", "cool"),
    ("auto", "auto"),
    ("dry", "dry"),
    ("fan_only", "wind"),
    ("cycle", "circle"),
]);
const WRITE_AC_FAN: Write = Write::Enum(&[
    ("low", "low"),
    ("medium", "middle"),
    ("high", "high"),
    ("auto", "auto"),
    ("cycle", "circle"),
]);
const WRITE_AC_SWING: Write = Write::Enum(&[("on", "swing"), ("off", "unswing")]);

// ---------------------------------------------------------------------------------------------
// Shared properties

const BATTERY: Property = Property {
    name: "battery",
    description: "Battery level estimated from the voltage: linear 2800 mV = 0 % to 3300 mV = 100 %, clamped (pre-1.0.6 firmware sent a percentage as `battery`).",
    value: int(0, 100),
    unit: Some("%"),
    v1: &[src("voltage", Codec::Battery), src("battery", INTEGER)],
    v2: &[src("battery_voltage", Codec::Battery)],
    ha: Some(diagnostic(Some("battery"), Some("%"))),
    ..P
};

const VOLTAGE: Property = Property {
    name: "voltage",
    description: "Battery voltage (below 2800 mV is low).",
    value: INT,
    unit: Some("mV"),
    v1: &[src("voltage", INTEGER)],
    v2: &[src("battery_voltage", INTEGER)],
    ha: Some(diagnostic(Some("voltage"), Some("mV"))),
    ..P
};

const SUPPLY_VOLTAGE: Property = Property {
    name: "voltage",
    description: "The fixed voltage a mains device reports (3300 or 3600 mV); not a battery.",
    ha: None,
    ..VOLTAGE
};

const TEMPERATURE: Property = Property {
    name: "temperature",
    description: "Temperature (raw hundredths: \"2120\" = 21.2 °C).",
    value: NUM,
    unit: Some("°C"),
    v1: &[src("temperature", HUNDREDTHS)],
    v2: &[src("temperature", HUNDREDTHS)],
    ha: Some(sensor(Some("temperature"), Some("°C"))),
    ..P
};

const HUMIDITY: Property = Property {
    name: "humidity",
    description: "Relative humidity (raw hundredths: \"5277\" = 52.77 %).",
    value: NUM,
    unit: Some("%"),
    v1: &[src("humidity", HUNDREDTHS)],
    v2: &[src("humidity", HUNDREDTHS)],
    ha: Some(sensor(Some("humidity"), Some("%"))),
    ..P
};

const WEATHER_TEMPERATURE: Property = Property {
    description: "Temperature (raw hundredths; the \"invalid\" default 10000 gives null).",
    v1: &[src(
        "temperature",
        Codec::Scaled {
            divisor: 100,
            invalid: &[10000],
        },
    )],
    v2: &[src(
        "temperature",
        Codec::Scaled {
            divisor: 100,
            invalid: &[10000],
        },
    )],
    ..TEMPERATURE
};

const WEATHER_HUMIDITY: Property = Property {
    description: "Relative humidity (raw hundredths; the \"invalid\" default 0 gives null).",
    v1: &[src(
        "humidity",
        Codec::Scaled {
            divisor: 100,
            invalid: &[0],
        },
    )],
    v2: &[src(
        "humidity",
        Codec::Scaled {
            divisor: 100,
            invalid: &[0],
        },
    )],
    ..HUMIDITY
};

const PRESSURE: Property = Property {
    name: "pressure",
    description: "Atmospheric pressure in hPa (raw Pa: \"100790\" = 1007.9 hPa; the \"invalid\" default 0 gives null).",
    value: NUM,
    unit: Some("hPa"),
    v1: &[src(
        "pressure",
        Codec::Scaled {
            divisor: 100,
            invalid: &[0],
        },
    )],
    v2: &[src(
        "pressure",
        Codec::Scaled {
            divisor: 100,
            invalid: &[0],
        },
    )],
    ha: Some(sensor(Some("atmospheric_pressure"), Some("hPa"))),
    ..P
};

const CONTACT: Property = Property {
    name: "contact",
    description: "True when the magnet is near (door or window closed), false when open. `no_close` (open for N seconds) also means open.",
    value: ValueType::Bool,
    v1: &[
        src(
            "status",
            Codec::Bool {
                on: &["close"],
                off: &["open"],
            },
        ),
        src("no_close", Codec::Present(false)),
    ],
    v2: &[src(
        "window_status",
        Codec::Bool {
            on: &["close"],
            off: &["open"],
        },
    )],
    ha: Some(HaEntity {
        payload: Some(HaPayload {
            on: Scalar::Bool(false),
            off: Scalar::Bool(true),
        }),
        ..binary("door")
    }),
    ..P
};

const NO_CLOSE: Property = Property {
    name: "no_close_seconds",
    description: "How long the door or window has been open (v1 `no_close`, sent after 60, 120, 300 … s).",
    value: INT,
    unit: Some("s"),
    v1: &[src("no_close", INTEGER)],
    ha: Some(sensor(Some("duration"), Some("s"))),
    ..P
};

const OCCUPANCY: Property = Property {
    name: "occupancy",
    description: "True on motion; false when the sensor reports `no_motion` (v1 only: v2 clients need their own timer).",
    value: ValueType::Bool,
    v1: &[
        src(
            "status",
            Codec::Bool {
                on: &["motion"],
                off: &[],
            },
        ),
        src("no_motion", Codec::Present(false)),
    ],
    v2: &[src(
        "motion_status",
        Codec::Bool {
            on: &["motion"],
            off: &[],
        },
    )],
    ha: Some(binary("motion")),
    ..P
};

const NO_MOTION: Property = Property {
    name: "no_motion_seconds",
    description: "Seconds without motion (v1 `no_motion`: \"120\", \"180\", \"300\" …).",
    value: INT,
    unit: Some("s"),
    v1: &[src("no_motion", INTEGER)],
    ha: Some(sensor(Some("duration"), Some("s"))),
    ..P
};

const ILLUMINANCE: Property = Property {
    name: "illuminance",
    description: "Illuminance in lux (0–1200).",
    value: INT,
    unit: Some("lx"),
    v1: &[src("lux", INTEGER), src("illumination", INTEGER)],
    v2: &[src("lux", INTEGER), src("illumination", INTEGER)],
    ha: Some(sensor(Some("illuminance"), Some("lx"))),
    ..P
};

const GATEWAY_ILLUMINANCE: Property = Property {
    name: "illuminance",
    description: "The gateway's light-sensor reading, kept as the gateway sends it (about 300–1300; it is lux plus an offset of roughly 300: Home Assistant shows value − 300, Homebridge value − 279).",
    value: INT,
    unit: Some("lx"),
    v1: &[src("illumination", INTEGER)],
    v2: &[src("illumination", INTEGER)],
    ha: Some(sensor(Some("illuminance"), Some("lx"))),
    ..P
};

// Buttons ------------------------------------------------------------------------------------

const ACTION_BUTTON: Property = Property {
    name: "action",
    description: "Button event: single, double, long (press), long_release.",
    value: ValueType::Enum(&["single", "double", "long", "long_release"]),
    v1: &[src("status", Codec::Enum(BUTTON))],
    v2: &[src("button_0", Codec::Enum(BUTTON))],
    ha: Some(TRIGGER),
    ..P
};

const ACTION_BUTTON_SHAKE: Property = Property {
    description: "Button event: single, double, long (press), long_release, shake.",
    value: ValueType::Enum(&["single", "double", "long", "long_release", "shake"]),
    v1: &[src("status", Codec::Enum(BUTTON_SHAKE))],
    v2: &[src("button_0", Codec::Enum(BUTTON_SHAKE))],
    ..ACTION_BUTTON
};

const ACTION_86SW1: Property = Property {
    name: "action",
    description: "Wall button event: single, double, long.",
    value: ValueType::Enum(&["single", "double", "long"]),
    v1: &[src("channel_0", Codec::Enum(WALL))],
    v2: &[src("button_0", Codec::Enum(WALL))],
    ha: Some(TRIGGER),
    ..P
};

const ACTION_86SW2: Property = Property {
    name: "action",
    description: "Wall button event: single/double/long, suffixed _left (channel 0), _right (channel 1) or _both (both keys).",
    value: ValueType::Enum(&[
        "single_left",
        "double_left",
        "long_left",
        "single_right",
        "double_right",
        "long_right",
        "single_both",
        "double_both",
        "long_both",
    ]),
    v1: &[
        src("channel_0", Codec::Enum(LEFT)),
        src("channel_1", Codec::Enum(RIGHT)),
        src("dual_channel", Codec::Enum(BOTH)),
    ],
    v2: &[
        src("button_0", Codec::Enum(LEFT)),
        src("button_1", Codec::Enum(RIGHT)),
        src("dual_channel", Codec::Enum(BOTH)),
    ],
    ha: Some(TRIGGER),
    ..P
};

// Cube ---------------------------------------------------------------------------------------

const ACTION_CUBE: Property = Property {
    name: "action",
    description: "Cube event: flip90, flip180, slide (move), tap (tap_twice), shake (shake_air), throw (swing), wakeup (alert), fall (free_fall), rotate_right (clockwise), rotate_left (counter-clockwise), rotate (direction not reported).",
    value: ValueType::Enum(&[
        "flip90",
        "flip180",
        "slide",
        "tap",
        "shake",
        "throw",
        "wakeup",
        "fall",
        "rotate_right",
        "rotate_left",
        "rotate",
    ]),
    v1: &[
        src("status", Codec::Enum(CUBE)),
        src("rotate", Codec::RotateAction),
    ],
    v2: &[src("cube_status", Codec::CubeStatus(CUBE))],
    ha: Some(TRIGGER),
    ..P
};

const ANGLE: Property = Property {
    name: "angle",
    description: "Rotation angle in degrees, positive clockwise (v1 `rotate` delta × 3.6: \"25,500\" = 90°).",
    value: NUM,
    unit: Some("°"),
    v1: &[src("rotate", Codec::RotateAngle)],
    v2: &[src("rotate_degree", Codec::Decimal)],
    ha: Some(sensor(None, Some("°"))),
    ..P
};

const DURATION: Property = Property {
    name: "duration",
    description: "How long the rotation took, in ms (v1 second part of `rotate`, v2 `detect_time`).",
    value: INT,
    unit: Some("ms"),
    v1: &[src("rotate", Codec::RotateTime)],
    v2: &[src("detect_time", INTEGER)],
    ha: Some(sensor(Some("duration"), Some("ms"))),
    ..P
};

// Vibration ----------------------------------------------------------------------------------

const ACTION_VIBRATION: Property = Property {
    name: "action",
    description: "Vibration event: vibration (vibrate), tilt, fall (free_fall).",
    value: ValueType::Enum(&["vibration", "tilt", "fall"]),
    v1: &[src("status", Codec::Enum(VIBRATION))],
    v2: &[src("status", Codec::Enum(VIBRATION))],
    ha: Some(TRIGGER),
    ..P
};

const TILT_ANGLE: Property = Property {
    name: "tilt_angle",
    description: "Angle after the last tilt, in degrees (`final_tilt_angle`).",
    value: INT,
    unit: Some("°"),
    v1: &[src("final_tilt_angle", INTEGER)],
    v2: &[
        src("final_tilt_angle", INTEGER),
        src("final_tilt_angel", INTEGER),
    ],
    ha: Some(sensor(None, Some("°"))),
    ..P
};

const fn axis(name: &'static str, sources: &'static [Source]) -> Property {
    Property {
        name,
        description: "One axis of the accelerometer reading (`coordination` \"x,y,z\").",
        value: INT,
        v1: sources,
        v2: sources,
        ha: Some(HaEntity {
            enabled_by_default: false,
            ..sensor(None, None)
        }),
        ..P
    }
}
const X_AXIS: Property = axis("x_axis", &[src("coordination", Codec::Axis(0))]);
const Y_AXIS: Property = axis("y_axis", &[src("coordination", Codec::Axis(1))]);
const Z_AXIS: Property = axis("z_axis", &[src("coordination", Codec::Axis(2))]);

const BED_ACTIVITY: Property = Property {
    name: "bed_activity",
    description: "Bed activity count (`bed_activity`).",
    value: INT,
    v1: &[src("bed_activity", INTEGER)],
    v2: &[src("bed_activity", INTEGER)],
    ha: Some(HaEntity {
        icon: Some("mdi:bed"),
        ..sensor(None, None)
    }),
    ..P
};

// Switches, plugs, relays --------------------------------------------------------------------

const fn relay(
    name: &'static str,
    description: &'static str,
    v1: &'static [Source],
    v2: &'static [Source],
    class: &'static str,
) -> Property {
    Property {
        name,
        description,
        value: ValueType::Enum(ON_OFF_VALUES),
        write: Some(WRITE_ON_OFF),
        v1,
        v2,
        ha: Some(switch(class)),
        ..P
    }
}

const PLUG_STATE: Property = relay(
    "state",
    "The outlet: on or off (v1 `status`, v2 `channel_0`).",
    &[src("status", Codec::Enum(ON_OFF))],
    &[src("channel_0", Codec::Enum(ON_OFF))],
    "outlet",
);

const SWITCH_STATE: Property = relay(
    "state",
    "The relay: on or off (`channel_0`).",
    &[src("channel_0", Codec::Enum(ON_OFF))],
    &[src("channel_0", Codec::Enum(ON_OFF))],
    "switch",
);

const SWITCH_LEFT: Property = relay(
    "state_left",
    "The left relay: on or off (`channel_0`).",
    &[src("channel_0", Codec::Enum(ON_OFF))],
    &[src("channel_0", Codec::Enum(ON_OFF))],
    "switch",
);

const SWITCH_RIGHT: Property = relay(
    "state_right",
    "The right relay: on or off (`channel_1`).",
    &[src("channel_1", Codec::Enum(ON_OFF))],
    &[src("channel_1", Codec::Enum(ON_OFF))],
    "switch",
);

const RELAY_L1: Property = Property {
    write: Some(WRITE_ON_OFF_TOGGLE),
    ..relay(
        "state_l1",
        "Channel 1: on or off (`channel_0`; v2 also accepts toggle).",
        &[src("channel_0", Codec::Enum(ON_OFF))],
        &[src("channel_0", Codec::Enum(ON_OFF))],
        "switch",
    )
};

const RELAY_L2: Property = Property {
    write: Some(WRITE_ON_OFF_TOGGLE),
    ..relay(
        "state_l2",
        "Channel 2: on or off (`channel_1`; v2 also accepts toggle).",
        &[src("channel_1", Codec::Enum(ON_OFF))],
        &[src("channel_1", Codec::Enum(ON_OFF))],
        "switch",
    )
};

const POWER: Property = Property {
    name: "power",
    description: "Load power in W (`load_power`, v1 a string such as \"24.76\").",
    value: NUM,
    unit: Some("W"),
    v1: &[src("load_power", Codec::Decimal)],
    v2: &[src("load_power", Codec::Decimal)],
    ha: Some(sensor(Some("power"), Some("W"))),
    ..P
};

const ENERGY: Property = Property {
    name: "energy",
    description: "Energy used since the device was first used, in Wh (v1 `power_consumed`, v2 `energy_consumed`; the v1 doc says kWh but real values look like Wh).",
    value: NUM,
    unit: Some("Wh"),
    v1: &[src("power_consumed", Codec::Decimal)],
    v2: &[src("energy_consumed", Codec::Decimal)],
    ha: Some(HaEntity {
        state_class: Some(StateClass::TotalIncreasing),
        ..sensor(Some("energy"), Some("Wh"))
    }),
    ..P
};

const IN_USE: Property = Property {
    name: "in_use",
    description: "True when a load draws power (v1 `inuse` \"1\"/\"0\").",
    value: ValueType::Bool,
    v1: &[src(
        "inuse",
        Codec::Bool {
            on: &["1"],
            off: &["0"],
        },
    )],
    ha: Some(binary("power")),
    ..P
};

// Detectors ----------------------------------------------------------------------------------

const ALARM_SOURCES: &[Source] = &[src("alarm", Codec::AlarmState(ALARM_CODES))];

const fn alarm(class: &'static str) -> Property {
    Property {
        name: "alarm",
        description: "True while the detector alarms (v1 `alarm` 1 or 2, v2 `*_status` alarm); null while it reports a fault.",
        value: ValueType::Bool,
        v1: ALARM_SOURCES,
        ha: Some(binary(class)),
        ..P
    }
}

const GAS_ALARM: Property = Property {
    v2: &[src(
        "natgas_status",
        Codec::Bool {
            on: &["alarm"],
            off: &["normal"],
        },
    )],
    ..alarm("gas")
};

const SMOKE_ALARM: Property = Property {
    v2: &[src(
        "smoke_status",
        Codec::Bool {
            on: &["alarm"],
            off: &["normal"],
        },
    )],
    ..alarm("smoke")
};

const FAULT: Property = Property {
    name: "fault",
    description: "Detector fault from the v1 `alarm` code: none, battery_fault (8), sensitivity_fault (64), i2c_failure (32768).",
    value: ValueType::Enum(FAULTS),
    v1: &[src("alarm", Codec::AlarmFault(ALARM_CODES))],
    ha: Some(HaEntity {
        entity_category: Some(EntityCategory::Diagnostic),
        ..enum_sensor("mdi:alert-circle")
    }),
    ..P
};

const DENSITY: Property = Property {
    name: "density",
    description: "Gas or smoke density as the detector reports it (`density`, unit not documented).",
    value: NUM,
    v1: &[src("density", Codec::Decimal)],
    v2: &[src("density", Codec::Decimal)],
    ha: Some(sensor(None, None)),
    ..P
};

const WATER_LEAK: Property = Property {
    name: "water_leak",
    description: "True while water is detected (v1 `status` leak/no_leak, v2 `wleak_status` leak/normal).",
    value: ValueType::Bool,
    v1: &[src(
        "status",
        Codec::Bool {
            on: &["leak"],
            off: &["no_leak"],
        },
    )],
    v2: &[src(
        "wleak_status",
        Codec::Bool {
            on: &["leak"],
            off: &["normal", "no_leak"],
        },
    )],
    ha: Some(binary("moisture")),
    ..P
};

// Curtains -----------------------------------------------------------------------------------

const CURTAIN_LEVEL: &[Source] = &[src(
    "curtain_level",
    Codec::Integer {
        invalid: &[-1, 255],
    },
)];
const COVER_PARTS: &[HaPart] = &[part(HaRole::Command, "motor")];

const fn level(class: &'static str) -> Property {
    Property {
        name: "level",
        description: "How far open, 0–100 % (`curtain_level`; −1 and 255 mean unknown). Written as a string in v1, a number in v2.",
        value: int(0, 100),
        unit: Some("%"),
        write: Some(Write::Integer {
            min: 0,
            max: 100,
            v1_string: true,
        }),
        v1: CURTAIN_LEVEL,
        v2: CURTAIN_LEVEL,
        ha: Some(HaEntity {
            component: HaComponent::Cover,
            device_class: Some(class),
            parts: COVER_PARTS,
            ..HA
        }),
    }
}

const MOTOR: Property = Property {
    name: "motor",
    description: "Motor command: open, close, stop, auto (v1 `status`, v2 `curtain_status`, write-only in v2).",
    value: ValueType::Enum(&["open", "close", "stop", "auto"]),
    write: Some(WRITE_CURTAIN),
    v1: &[src("status", Codec::Enum(CURTAIN))],
    v2: &[src("curtain_status", Codec::Enum(CURTAIN))],
    ..P
};

// Lock ---------------------------------------------------------------------------------------

const UNLOCK_METHOD: Property = Property {
    name: "unlock_method",
    description: "How the lock was last opened: finger, password or card (the high 16 bits of `fing_verified`/`psw_verified`/`card_verified`).",
    value: ValueType::Enum(&["finger", "password", "card"]),
    v1: &[
        src("fing_verified", Codec::UnlockMethod(UNLOCK_METHODS)),
        src("psw_verified", Codec::UnlockMethod(UNLOCK_METHODS)),
        src("card_verified", Codec::UnlockMethod(UNLOCK_METHODS)),
    ],
    ha: Some(enum_sensor("mdi:key")),
    ..P
};

const UNLOCK_USER: Property = Property {
    name: "user_id",
    description: "Which user opened the lock (the low 16 bits of the `*_verified` value).",
    value: int(0, 65535),
    v1: &[
        src("fing_verified", Codec::UnlockUser),
        src("psw_verified", Codec::UnlockUser),
        src("card_verified", Codec::UnlockUser),
    ],
    ha: Some(HaEntity {
        icon: Some("mdi:account-key"),
        ..HA
    }),
    ..P
};

const WRONG_ATTEMPTS: Property = Property {
    name: "wrong_attempts",
    description: "Failed unlock attempts (`verified_wrong`).",
    value: INT,
    v1: &[src("verified_wrong", INTEGER)],
    ha: Some(HaEntity {
        icon: Some("mdi:lock-alert"),
        ..HA
    }),
    ..P
};

// Gateway ------------------------------------------------------------------------------------

const LIGHT: Property = Property {
    name: "light",
    description: "The light ring: on or off (`rgb` 0 = off).",
    value: ValueType::Enum(ON_OFF_VALUES),
    write: Some(Write::Rgb(RgbPart::State)),
    v1: &[src("rgb", Codec::RgbState)],
    v2: &[src("rgb", Codec::RgbState)],
    ha: Some(HaEntity {
        component: HaComponent::Light,
        payload: Some(ON_OFF_PAYLOAD),
        parts: &[
            part(HaRole::Brightness, "brightness"),
            part(HaRole::Color, "color"),
        ],
        ..HA
    }),
    ..P
};

const BRIGHTNESS: Property = Property {
    name: "brightness",
    description: "Light brightness 0–100 % (the top byte of `rgb`).",
    value: int(0, 100),
    unit: Some("%"),
    write: Some(Write::Rgb(RgbPart::Brightness)),
    v1: &[src("rgb", Codec::RgbBrightness)],
    v2: &[src("rgb", Codec::RgbBrightness)],
    ..P
};

const COLOR: Property = Property {
    name: "color",
    description: "Light colour (the low three bytes of `rgb`).",
    value: ValueType::Color,
    write: Some(Write::Rgb(RgbPart::Color)),
    v1: &[src("rgb", Codec::RgbColor)],
    v2: &[src("rgb", Codec::RgbColor)],
    ..P
};

const PROTO_VERSION: Property = Property {
    name: "proto_version",
    description: "LAN protocol version of the gateway (\"1.0.9\", \"2.0.0\").",
    value: ValueType::Text,
    v1: &[src("proto_version", Codec::Text)],
    v2: &[src("proto_version", Codec::Text)],
    ha: Some(HaEntity {
        entity_category: Some(EntityCategory::Diagnostic),
        icon: Some("mdi:information-outline"),
        ..HA
    }),
    ..P
};

const IP: Property = Property {
    name: "ip",
    description: "The gateway's IP address (gateway heartbeats).",
    value: ValueType::Text,
    v1: &[src("ip", Codec::Text)],
    v2: &[src("ip", Codec::Text)],
    ha: Some(HaEntity {
        entity_category: Some(EntityCategory::Diagnostic),
        enabled_by_default: false,
        icon: Some("mdi:ip-network"),
        ..HA
    }),
    ..P
};

const SOUND: Property = Property {
    name: "sound",
    description: "Play a built-in sound by name (see `catalogue::SOUNDS`), `stop`, or a custom id ≥ 10001 (`mid`).",
    value: ValueType::Enum(SOUND_NAMES),
    write: Some(Write::Sound),
    v1: &[src("mid", Codec::Sound)],
    v2: &[src("mid", Codec::Sound)],
    ha: Some(HaEntity {
        component: HaComponent::Siren,
        payload: Some(HaPayload {
            on: Scalar::Text("doorbell"),
            off: Scalar::Text("stop"),
        }),
        parts: &[part(HaRole::Volume, "volume")],
        ..HA
    }),
    ..P
};

const VOLUME: Property = Property {
    name: "volume",
    description: "Sound volume 0–100 % (`vol`, written with `mid`).",
    value: int(0, 100),
    unit: Some("%"),
    write: Some(Write::Integer {
        min: 0,
        max: 100,
        v1_string: false,
    }),
    v1: &[src("vol", INTEGER)],
    v2: &[src("vol", INTEGER)],
    ..P
};

const PAIRING: Property = Property {
    name: "pairing",
    description: "Write true to let new sub-devices join for 30 s (`join_permission` yes/no).",
    value: ValueType::Bool,
    write: Some(Write::BoolText {
        on: "yes",
        off: "no",
    }),
    v1: &[src(
        "join_permission",
        Codec::Bool {
            on: &["yes"],
            off: &["no"],
        },
    )],
    v2: &[src(
        "join_permission",
        Codec::Bool {
            on: &["yes"],
            off: &["no"],
        },
    )],
    ha: Some(HaEntity {
        component: HaComponent::Button,
        entity_category: Some(EntityCategory::Config),
        icon: Some("mdi:zigbee"),
        payload: Some(BOOL_PAYLOAD),
        ..HA
    }),
    ..P
};

const REMOVE_DEVICE: Property = Property {
    name: "remove_device",
    description: "Write a sub-device sid (14 hex digits) to remove it from the gateway (`remove_device`).",
    value: ValueType::Text,
    write: Some(Write::Sid),
    v1: &[src("remove_device", Codec::Text)],
    v2: &[src("remove_device", Codec::Text)],
    ..P
};

// Air conditioning ---------------------------------------------------------------------------

const AC_STATE: Property = Property {
    name: "state",
    description: "Air conditioner on or off (`on_off_cfg`, reported as `on_off_status` by thermostats); toggle can be written.",
    value: ValueType::Enum(ON_OFF_VALUES),
    write: Some(WRITE_ON_OFF_TOGGLE),
    v2: &[
        src("on_off_cfg", Codec::Enum(ON_OFF)),
        src("on_off_status", Codec::Enum(ON_OFF)),
    ],
    ..P
};

const MODE_SOURCES: &[Source] = &[src("mode_cfg", Codec::Enum(AC_MODE))];

const fn system_mode(parts: &'static [HaPart]) -> Property {
    Property {
        name: "system_mode",
        description: "Air conditioner mode: heat, cool, auto, dry, fan_only (wind), cycle (circle) (`mode_cfg`).",
        value: ValueType::Enum(&["heat", "cool", "auto", "dry", "fan_only", "cycle"]),
        write: Some(WRITE_AC_MODE),
        v2: MODE_SOURCES,
        ha: Some(HaEntity {
            component: HaComponent::Climate,
            parts,
            ..HA
        }),
        ..P
    }
}

const FAN_MODE: Property = Property {
    name: "fan_mode",
    description: "Fan speed: low, medium (middle), high, auto, cycle (circle) (`ws_cfg`).",
    value: ValueType::Enum(&["low", "medium", "high", "auto", "cycle"]),
    write: Some(WRITE_AC_FAN),
    v2: &[src("ws_cfg", Codec::Enum(AC_FAN))],
    ..P
};

const SWING_MODE: Property = Property {
    name: "swing_mode",
    description: "Swing: on (swing) or off (unswing) (`swing_cfg`).",
    value: ValueType::Enum(ON_OFF_VALUES),
    write: Some(WRITE_AC_SWING),
    v2: &[src("swing_cfg", Codec::Enum(AC_SWING))],
    ..P
};

const TARGET_TEMPERATURE: Property = Property {
    name: "target_temperature",
    description: "Target temperature, 17–30 °C (`temp_cfg`).",
    value: int(17, 30),
    unit: Some("°C"),
    write: Some(Write::Integer {
        min: 17,
        max: 30,
        v1_string: false,
    }),
    v2: &[src("temp_cfg", INTEGER)],
    ..P
};

const LOCAL_TEMPERATURE: Property = Property {
    name: "local_temperature",
    description: "Room temperature measured by the thermostat, °C (`env_temp`; the doc gives the unit but not the scale).",
    value: NUM,
    unit: Some("°C"),
    v2: &[src("env_temp", Codec::Decimal)],
    ..P
};

const AC_RELAY: Property = Property {
    write: Some(WRITE_ON_OFF_TOGGLE),
    ..relay(
        "relay",
        "The companion's relay (`relay_status`): on or off; toggle can be written.",
        &[],
        &[src("relay_status", Codec::Enum(ON_OFF))],
        "outlet",
    )
};

// Dimmer and early light ---------------------------------------------------------------------

const DIMMER_STATE: Property = Property {
    name: "state",
    description: "The light: on or off (`power_status`; writing it is not documented, only reading).",
    value: ValueType::Enum(ON_OFF_VALUES),
    write: Some(WRITE_ON_OFF),
    v2: &[src("power_status", Codec::Enum(ON_OFF))],
    ha: Some(HaEntity {
        component: HaComponent::Light,
        payload: Some(ON_OFF_PAYLOAD),
        parts: &[
            part(HaRole::Brightness, "brightness"),
            part(HaRole::Color, "color"),
        ],
        ..HA
    }),
    ..P
};

const DIMMER_BRIGHTNESS: Property = Property {
    name: "brightness",
    description: "Brightness 1–100 % (`light_level`).",
    value: int(0, 100),
    unit: Some("%"),
    write: Some(Write::Integer {
        min: 0,
        max: 100,
        v1_string: false,
    }),
    v2: &[src("light_level", INTEGER)],
    ..P
};

const DIMMER_COLOR: Property = Property {
    name: "color",
    description: "Colour (the low three bytes of `light_rgb`; written with brightness byte 100).",
    value: ValueType::Color,
    write: Some(Write::Rgb(RgbPart::Color)),
    v2: &[src("light_rgb", Codec::RgbColor)],
    ..P
};

const RGBW_STATE: Property = Property {
    name: "state",
    description: "On or off (`status`).",
    value: ValueType::Enum(ON_OFF_VALUES),
    v1: &[src("status", Codec::Enum(ON_OFF))],
    ha: Some(HaEntity {
        component: HaComponent::Light,
        payload: Some(ON_OFF_PAYLOAD),
        parts: &[part(HaRole::Brightness, "brightness")],
        ..HA
    }),
    ..P
};

const fn rgbw_number(
    name: &'static str,
    description: &'static str,
    v1: &'static [Source],
) -> Property {
    Property {
        name,
        description,
        value: INT,
        v1,
        ..P
    }
}

const RGBW_BRIGHTNESS: Property = Property {
    value: int(0, 255),
    ..rgbw_number(
        "brightness",
        "Brightness 0–255 (`level`).",
        &[src("level", INTEGER)],
    )
};
const RGBW_COLOR_TEMP: Property = rgbw_number(
    "color_temp",
    "Colour temperature as reported (`color_temperature`).",
    &[src("color_temperature", INTEGER)],
);
const RGBW_X: Property = rgbw_number("color_x", "CIE x as reported (`x`).", &[src("x", INTEGER)]);
const RGBW_Y: Property = rgbw_number("color_y", "CIE y as reported (`y`).", &[src("y", INTEGER)]);
const RGBW_HUE: Property = rgbw_number("hue", "Hue as reported (`hue`).", &[src("hue", INTEGER)]);
const RGBW_SATURATION: Property = rgbw_number(
    "saturation",
    "Saturation as reported (`saturation`).",
    &[src("saturation", INTEGER)],
);

// ---------------------------------------------------------------------------------------------
// Property sets

const GATEWAY_PROPS: &[Property] = &[
    LIGHT,
    BRIGHTNESS,
    COLOR,
    GATEWAY_ILLUMINANCE,
    SOUND,
    VOLUME,
    PAIRING,
    REMOVE_DEVICE,
    PROTO_VERSION,
    IP,
];
const AC_CLIMATE_PARTS: &[HaPart] = &[
    part(HaRole::Power, "state"),
    part(HaRole::FanMode, "fan_mode"),
    part(HaRole::SwingMode, "swing_mode"),
    part(HaRole::TargetTemperature, "target_temperature"),
];
const THERMOSTAT_CLIMATE_PARTS: &[HaPart] = &[
    part(HaRole::Power, "state"),
    part(HaRole::FanMode, "fan_mode"),
    part(HaRole::TargetTemperature, "target_temperature"),
    part(HaRole::CurrentTemperature, "local_temperature"),
];
const BUTTON_PROPS: &[Property] = &[ACTION_BUTTON, BATTERY, VOLTAGE];
const BUTTON_SHAKE_PROPS: &[Property] = &[ACTION_BUTTON_SHAKE, BATTERY, VOLTAGE];
const SW1_PROPS: &[Property] = &[ACTION_86SW1, BATTERY, VOLTAGE];
const SW2_PROPS: &[Property] = &[ACTION_86SW2, BATTERY, VOLTAGE];
const WIRED1_PROPS: &[Property] = &[SWITCH_STATE, SUPPLY_VOLTAGE];
const WIRED2_PROPS: &[Property] = &[SWITCH_LEFT, SWITCH_RIGHT, SUPPLY_VOLTAGE];
const PLUG_PROPS: &[Property] = &[PLUG_STATE, POWER, ENERGY, IN_USE, SUPPLY_VOLTAGE];

const fn device(
    models: &'static [&'static str],
    name: &'static str,
    product_code: &'static str,
    manufacturer: Manufacturer,
    kind: DeviceKind,
    power: PowerSource,
    properties: &'static [Property],
) -> Device {
    Device {
        models,
        name,
        product_code,
        manufacturer,
        kind,
        power,
        properties,
        note: "",
    }
}

use DeviceKind as K;
use Manufacturer::{Aqara, Honeywell, Xiaomi};
use PowerSource::{Battery, Mains};

/// Every catalogued device.
pub const DEVICES: &[Device] = &[
    Device {
        note: "`gateway` is what both lumi.gateway.v2 and lumi.gateway.v3 hardware call themselves on the LAN; DGNWG02LM is the v3 (Mi Gateway 2, CN). v1 firmware; some v3 firmware speaks v2.",
        ..device(
            &["gateway", "gateway.v3"],
            "Mi multifunction gateway",
            "DGNWG02LM",
            Xiaomi,
            K::Gateway,
            Mains,
            GATEWAY_PROPS,
        )
    },
    Device {
        note: "Named as a v2 gateway in the V2 LAN doc's iam example.",
        ..device(
            &["gateway.aq1"],
            "Aqara hub",
            "ZHWG11LM",
            Aqara,
            K::Gateway,
            Mains,
            GATEWAY_PROPS,
        )
    },
    Device {
        note: "v2 only. Does not answer whois; treated as a gateway by PyXiaomiGateway.",
        ..device(
            &["acpartner.v3"],
            "Aqara air conditioning companion",
            "KTBL11LM",
            Aqara,
            K::AcPartner,
            Mains,
            &[
                GATEWAY_ILLUMINANCE,
                AC_STATE,
                system_mode(AC_CLIMATE_PARTS),
                FAN_MODE,
                SWING_MODE,
                TARGET_TEMPERATURE,
                AC_RELAY,
                SOUND,
                VOLUME,
                PAIRING,
                REMOVE_DEVICE,
                PROTO_VERSION,
                IP,
            ],
        )
    },
    device(
        &["magnet", "sensor_magnet"],
        "Mi door and window sensor",
        "MCCGQ01LM",
        Xiaomi,
        K::DoorWindow,
        Battery,
        &[CONTACT, NO_CLOSE, BATTERY, VOLTAGE],
    ),
    device(
        &["sensor_magnet.aq2"],
        "Aqara door and window sensor",
        "MCCGQ11LM",
        Aqara,
        K::DoorWindow,
        Battery,
        &[CONTACT, NO_CLOSE, BATTERY, VOLTAGE],
    ),
    Device {
        note: "Heartbeats may repeat a stale `status`; a read returns only the voltage.",
        ..device(
            &["motion", "sensor_motion"],
            "Mi motion sensor",
            "RTCGQ01LM",
            Xiaomi,
            K::Motion,
            Battery,
            &[OCCUPANCY, NO_MOTION, BATTERY, VOLTAGE],
        )
    },
    device(
        &["sensor_motion.aq2"],
        "Aqara motion sensor with illuminance",
        "RTCGQ11LM",
        Aqara,
        K::Motion,
        Battery,
        &[OCCUPANCY, NO_MOTION, ILLUMINANCE, BATTERY, VOLTAGE],
    ),
    device(
        &["switch", "sensor_switch"],
        "Mi wireless switch",
        "WXKG01LM",
        Xiaomi,
        K::Button,
        Battery,
        BUTTON_PROPS,
    ),
    device(
        &["sensor_switch.aq2", "remote.b1acn01"],
        "Aqara wireless mini switch",
        "WXKG11LM",
        Aqara,
        K::Button,
        Battery,
        BUTTON_PROPS,
    ),
    device(
        &["sensor_switch.aq3"],
        "Aqara wireless mini switch with gyroscope",
        "WXKG12LM",
        Aqara,
        K::Button,
        Battery,
        BUTTON_SHAKE_PROPS,
    ),
    device(
        &[
            "86sw1",
            "sensor_86sw1",
            "sensor_86sw1.aq1",
            "remote.b186acn01",
        ],
        "Aqara wireless wall switch (single rocker)",
        "WXKG03LM",
        Aqara,
        K::WallSwitchWireless,
        Battery,
        SW1_PROPS,
    ),
    device(
        &["remote.b186acn02"],
        "Aqara D1 wireless wall switch (single rocker)",
        "WXKG06LM",
        Aqara,
        K::WallSwitchWireless,
        Battery,
        SW1_PROPS,
    ),
    device(
        &[
            "86sw2",
            "sensor_86sw2",
            "sensor_86sw2.aq1",
            "remote.b286acn01",
        ],
        "Aqara wireless wall switch (double rocker)",
        "WXKG02LM",
        Aqara,
        K::WallSwitchWireless,
        Battery,
        SW2_PROPS,
    ),
    device(
        &["remote.b286acn02"],
        "Aqara D1 wireless wall switch (double rocker)",
        "WXKG07LM",
        Aqara,
        K::WallSwitchWireless,
        Battery,
        SW2_PROPS,
    ),
    device(
        &["ctrl_neutral1", "ctrl_neutral1.aq1"],
        "Aqara wall switch (no neutral, single rocker)",
        "QBKG04LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED1_PROPS,
    ),
    device(
        &["switch_b1lacn02", "switch.b1lacn02"],
        "Aqara D1 wall switch (no neutral, single rocker)",
        "QBKG21LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED1_PROPS,
    ),
    device(
        &["ctrl_neutral2", "ctrl_neutral2.aq1"],
        "Aqara wall switch (no neutral, double rocker)",
        "QBKG03LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED2_PROPS,
    ),
    device(
        &["switch_b2lacn02", "switch.b2lacn02"],
        "Aqara D1 wall switch (no neutral, double rocker)",
        "QBKG22LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED2_PROPS,
    ),
    device(
        &["ctrl_ln1", "ctrl_ln1.aq1"],
        "Aqara wall switch (with neutral, single rocker)",
        "QBKG11LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED1_PROPS,
    ),
    device(
        &["switch_b1nacn02", "switch.b1nacn02"],
        "Aqara D1 wall switch (with neutral, single rocker)",
        "QBKG23LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED1_PROPS,
    ),
    device(
        &["ctrl_ln2", "ctrl_ln2.aq1"],
        "Aqara wall switch (with neutral, double rocker)",
        "QBKG12LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED2_PROPS,
    ),
    device(
        &["switch_b2nacn02", "switch.b2nacn02"],
        "Aqara D1 wall switch (with neutral, double rocker)",
        "QBKG24LM",
        Aqara,
        K::WallSwitchWired,
        Mains,
        WIRED2_PROPS,
    ),
    device(
        &["plug"],
        "Mi smart plug",
        "ZNCZ02LM",
        Xiaomi,
        K::Plug,
        Mains,
        PLUG_PROPS,
    ),
    device(
        &["86plug", "ctrl_86plug", "ctrl_86plug.aq1"],
        "Aqara wall outlet",
        "QBCZ11LM",
        Aqara,
        K::Plug,
        Mains,
        PLUG_PROPS,
    ),
    Device {
        note: "Not in the V2 doc; v2 keys assumed to be the v1 ones with numbers.",
        ..device(
            &["sensor_ht"],
            "Mi temperature and humidity sensor",
            "WSDCGQ01LM",
            Xiaomi,
            K::Climate,
            Battery,
            &[TEMPERATURE, HUMIDITY, BATTERY, VOLTAGE],
        )
    },
    device(
        &["weather.v1", "weather"],
        "Aqara temperature, humidity and pressure sensor",
        "WSDCGQ11LM",
        Aqara,
        K::Climate,
        Battery,
        &[
            WEATHER_TEMPERATURE,
            WEATHER_HUMIDITY,
            PRESSURE,
            BATTERY,
            VOLTAGE,
        ],
    ),
    device(
        &["cube", "sensor_cube", "sensor_cube.aqgl01"],
        "Mi/Aqara magic cube",
        "MFKZQ01LM",
        Xiaomi,
        K::Cube,
        Battery,
        &[ACTION_CUBE, ANGLE, DURATION, BATTERY, VOLTAGE],
    ),
    device(
        &["natgas", "sensor_natgas"],
        "Honeywell natural gas detector",
        "JTQJ-BF-01LM/BW",
        Honeywell,
        K::GasDetector,
        Mains,
        &[GAS_ALARM, FAULT, DENSITY, SUPPLY_VOLTAGE],
    ),
    device(
        &["smoke", "sensor_smoke"],
        "Honeywell smoke detector",
        "JTYJ-GD-01LM/BW",
        Honeywell,
        K::SmokeDetector,
        Battery,
        &[SMOKE_ALARM, FAULT, DENSITY, BATTERY, VOLTAGE],
    ),
    device(
        &["sensor_wleak.aq1"],
        "Aqara water leak sensor",
        "SJCGQ11LM",
        Aqara,
        K::WaterLeak,
        Battery,
        &[WATER_LEAK, BATTERY, VOLTAGE],
    ),
    Device {
        note: "v2 key names are not documented; the v1 ones are assumed.",
        ..device(
            &["vibration", "vibration.aq1"],
            "Aqara vibration sensor",
            "DJT11LM",
            Aqara,
            K::Vibration,
            Battery,
            &[
                ACTION_VIBRATION,
                TILT_ANGLE,
                X_AXIS,
                Y_AXIS,
                Z_AXIS,
                BED_ACTIVITY,
                BATTERY,
                VOLTAGE,
            ],
        )
    },
    device(
        &["curtain"],
        "Aqara curtain motor",
        "ZNCLDJ11LM",
        Aqara,
        K::Curtain,
        Mains,
        &[level("curtain"), MOTOR],
    ),
    device(
        &["curtain.aq2"],
        "Aqara roller shade controller",
        "ZNGZDJ11LM",
        Aqara,
        K::Curtain,
        Mains,
        &[level("shade"), MOTOR],
    ),
    Device {
        note: "Rechargeable battery; whether the LAN API reports its voltage is not documented.",
        ..device(
            &["curtain.hagl04"],
            "Aqara curtain motor B1",
            "ZNCLDJ12LM",
            Aqara,
            K::Curtain,
            Battery,
            &[level("curtain"), MOTOR, BATTERY, VOLTAGE],
        )
    },
    Device {
        note: "Read-only over the LAN API. The method/user split of `*_verified` is inferred from values 65536, 65537, 131074, 196608.",
        ..device(
            &["lock.aq1"],
            "Aqara smart door lock S1",
            "ZNMS11LM",
            Aqara,
            K::Lock,
            Battery,
            &[UNLOCK_METHOD, UNLOCK_USER, WRONG_ATTEMPTS, BATTERY, VOLTAGE],
        )
    },
    device(
        &["lock.acn02"],
        "Aqara smart door lock S2",
        "ZNMS12LM",
        Aqara,
        K::Lock,
        Battery,
        &[UNLOCK_METHOD, UNLOCK_USER, WRONG_ATTEMPTS, BATTERY, VOLTAGE],
    ),
    Device {
        note: "v1 firmware often reports it with model \"\"; v2 calls it lumi.ctrl_dualchn.",
        ..device(
            &["relay.c2acn01", "lumi.ctrl_dualchn"],
            "Aqara two-channel relay module",
            "LLKZMK11LM",
            Aqara,
            K::Relay,
            Mains,
            &[RELAY_L1, RELAY_L2, SUPPLY_VOLTAGE],
        )
    },
    Device {
        note: "v2 doc only (V2.0.2); no product code found.",
        ..device(
            &["dimmer.rgbegl01"],
            "Aqara RGB dimmer controller",
            "unknown",
            Aqara,
            K::Dimmer,
            Mains,
            &[DIMMER_STATE, DIMMER_BRIGHTNESS, DIMMER_COLOR],
        )
    },
    Device {
        note: "v2 doc only (V2.0.2), shared with ctrl_hvac.aq1; target range taken from the AC companion.",
        ..device(
            &["airrtc.tcpecn01"],
            "Aqara air conditioning thermostat S1",
            "KTWKQ02ES",
            Aqara,
            K::Thermostat,
            Mains,
            &[
                AC_STATE,
                system_mode(THERMOSTAT_CLIMATE_PARTS),
                FAN_MODE,
                TARGET_TEMPERATURE,
                LOCAL_TEMPERATURE,
            ],
        )
    },
    Device {
        note: "v2 doc only (V2.0.2), shared with airrtc.tcpecn01; no product code found.",
        ..device(
            &["ctrl_hvac.aq1"],
            "Aqara air conditioning thermostat",
            "unknown",
            Aqara,
            K::Thermostat,
            Mains,
            &[
                AC_STATE,
                system_mode(THERMOSTAT_CLIMATE_PARTS),
                FAN_MODE,
                TARGET_TEMPERATURE,
                LOCAL_TEMPERATURE,
            ],
        )
    },
    Device {
        note: "Only in the 2016 draft doc (\"haven't seen this product anywhere yet\"); read-only here.",
        ..device(
            &["rgbw_light"],
            "RGBW light (early draft documentation)",
            "unknown",
            Xiaomi,
            K::Light,
            Mains,
            &[
                RGBW_STATE,
                RGBW_BRIGHTNESS,
                RGBW_COLOR_TEMP,
                RGBW_X,
                RGBW_Y,
                RGBW_HUE,
                RGBW_SATURATION,
            ],
        )
    },
];
