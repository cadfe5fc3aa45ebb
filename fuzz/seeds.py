#!/usr/bin/env python3
"""Seed inputs for the fuzz targets that came after the first four, from real inputs: the
shared captures (../shared/corpus/*.jsonl), the examples in the code's documentation and
tests (set.rs, request.rs, topics.rs, the config and scenario docs and tests), and
packaging/lumi.toml. Writes fuzz/seeds/<target>/; scripts/fuzz.sh then grows and minimises a
corpus from them (FUZZ_UPDATE_CORPUS=1 with the seeds copied into fuzz/corpus/<target>/).

    python3 fuzz/seeds.py [SHARED_CORPUS_DIR]
"""
import hashlib
import json
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "corpus")
out = os.path.join(root, "fuzz", "seeds")


def write(target, data):
    if not isinstance(data, (str, bytes)):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return f.read()


PLACEHOLDERS = {"{PASSWORD}": "0987654321qwerty", "{OTHER_PASSWORD}": "aaaaaaaaaaaaaaaa",
                "{TOKEN}": "1c1961595b889a1f42af6b16cf9a6b81", "{MQTT_PASSWORD}": "hunter2-mqtt",
                "{WEB_TOKEN}": "dashboard-secret-0123456789"}


def unescape(s):
    s = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), s)
    s = re.sub(r"\\\n\s*", "", s)  # a backslash at the end of a line continues it
    return (s.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"')
             .replace("\\0", "\0").replace("\\\\", "\\"))


def raw_strings(text):
    """The contents of the Rust string literals (raw r#"..."# and plain "...") of a source
    file, placeholders of the tests filled in."""
    found = []
    i = 0
    while True:
        i = text.find('r#"', i)
        if i < 0:
            break
        j = text.find('"#', i + 3)
        if j < 0:
            break
        found.append(text[i + 3:j])
        i = j + 2
    plain = re.sub(r'r#".*?"#', "", text, flags=re.S)
    found += [unescape(m.group(1)) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', plain, re.S)]
    out = []
    for f in found:
        for k, v in PLACEHOLDERS.items():
            f = f.replace(k, v)
        out.append(f.replace("{{", "{").replace("}}", "}"))
    return out


def doc_blocks(text, lang):
    """The ```lang blocks of //! and /// comments."""
    lines = [re.sub(r"^\s*//[!/] ?", "", l) for l in text.splitlines() if re.match(r"^\s*//[!/]", l)]
    blocks, cur = [], None
    for l in lines:
        if cur is None and l.strip() == "```" + lang:
            cur = []
        elif cur is not None and l.strip() == "```":
            blocks.append("\n".join(cur) + "\n")
            cur = None
        elif cur is not None:
            cur.append(l)
    return blocks


lan = [json.loads(l) for l in open(os.path.join(shared, "lan.jsonl"), encoding="utf-8")]
miio = [json.loads(l) for l in open(os.path.join(shared, "miio.jsonl"), encoding="utf-8")]

# device_state: every captured LAN message, and the bare props of those that carry data.
for r in lan:
    msg = r["message"]
    write("device_state", msg)
    try:
        v = json.loads(msg)
        data = v.get("data") if isinstance(v, dict) else None
        if isinstance(data, str):
            write("device_state", data)
    except (ValueError, AttributeError, TypeError):
        pass

# sim_servers: what clients send to gateways and miIO devices.
for r in lan:
    if r.get("direction", "").startswith("client"):
        write("sim_servers", r["message"])
for r in miio:
    if r.get("payload"):
        write("sim_servers", r["payload"])
    if r.get("packet_hex"):
        write("sim_servers", bytes.fromhex(r["packet_hex"]))
for method, params in [("miIO.info", []), ("get_prop", ["power"]), ("set_power", ["on"]),
                       ("get_device_prop", ["lumi.0", "device_list"]), ("get_lumi_dpf_aes_key", []),
                       ("send_data_frame", {"cur": 0, "data": "[]", "data_tkn": 29576, "total": 1, "type": "scene"}),
                       ("miIO.subscribe", {}), ("toggle_light", ["toggle"]), ("play_music_new", ["10", 30])]:
    write("sim_servers", json.dumps({"id": 7, "method": method, "params": params}))

# mqtt_command: topic NUL payload [NUL reported props].
set_examples = [
    ("lumi/plug/set", '{"state": "ON"}'),
    ("lumi/wall/set/state_left", "ON"), ("lumi/wall/set/state_left", "TOGGLE"),
    ("lumi/wall/set/state_right", "off"), ("lumi/wall/set/state", "true"), ("lumi/wall/set/state", "1"),
    ("lumi/gateway/set", '{"state": "ON", "brightness": 128, "color": {"r": 255, "g": 0, "b": 0}}'),
    ("lumi/gateway/set/color", "#ff0000"), ("lumi/gateway/set/color", "255,0,0"),
    ("lumi/gateway/set/color", '{"r":255,"g":0,"b":0}'), ("lumi/gateway/set/color", '{"hex":"#ff0000"}'),
    ("lumi/gateway/set/color", "[255,0,0]"), ("lumi/gateway/set/brightness", "128"),
    ("lumi/gateway/set", '{"sound": "doorbell", "volume": 40}'), ("lumi/gateway/set/sound", "doorbell"),
    ("lumi/gateway/set", '{"state": "OFF", "transition": 2}'), ("lumi/gateway/set/light", "TOGGLE"),
    ("lumi/curtain/set/level", "50"), ("lumi/curtain/set/motor", "open"), ("lumi/curtain/set/position", "100"),
    ("lumi/curtain/set", '{"position": 20, "motor": "stop"}'),
    ("lumi/ac/set", '{"system_mode": "cool", "target_temperature": 22.5, "fan_mode": "auto", "swing_mode": "on"}'),
    ("lumi/gateway/set", '{"pairing": true}'), ("lumi/gateway/set/remove_device", "158d0001a2b3c4"),
    ("lumi/hall/plug/set", ""), ("lumi/a/b/c/set/state", "on"),
]
for topic, payload in set_examples:
    write("mqtt_command", f"{topic}\0{payload}")
write("mqtt_command", 'lumi/gateway/set/light\0TOGGLE\0{"rgb": 1694433280}')
write("mqtt_command", 'lumi/plug/set/state\0TOGGLE\0{"status": "on", "channel_0": "off"}')
write("mqtt_command", 'lumi/gateway/set/brightness\0200\0{"rgb": 4278190335}')
for topic, payload in [("lumi/plug/get", ""), ("lumi/plug/get", '{"state": ""}'), ("lumi/plug/get", "{}"),
                       ("lumi/plug/get/state", ""), ("lumi/curtain/get/position", ""),
                       ("lumi/climate/get", '{"temperature": "", "humidity": ""}')]:
    write("mqtt_command", f"{topic}\0{payload}")
for name, payload in [("permit_join", '{"value": true, "time": 60, "gateway": "34ce0088db0b", "transaction": "a1"}'),
                      ("permit_join", "false"), ("permit_join", "120"), ("remove", '{"id": "kitchen/plug"}'),
                      ("remove", "kitchen/plug"), ("device/remove", '{"id": "158d0001a2b3c4", "force": true}'),
                      ("rename", '{"from": "158d0001a2b3c4", "to": "kitchen/plug", "transaction": 7}'),
                      ("device/rename", '{"from": "a", "to": "bridge"}'), ("read", '{"id": "kitchen/plug"}'),
                      ("health", "{}"), ("health_check", ""), ("nope", '{"transaction": [1]}')]:
    write("mqtt_command", f"lumi/bridge/request/{name}\0{payload}")
for topic, payload in [("homeassistant/status", "online"), ("homeassistant/status", '{"state": "offline"}'),
                       ("lumi/bridge/state", "online"), ("lumi/plug/availability", ""), ("lumi/plug", "{}"),
                       ("lumi/plug/set/State", "ON"), ("lumi//set", "{}"), ("lumi/+/set", "{}"),
                       ("lumi/bridge/other", ""), ("zigbee2mqtt/plug/set", "{}"), ("lumi/set", "ON")]:
    write("mqtt_command", f"{topic}\0{payload}")

# config: packaging/lumi.toml, the docs' examples and the tests' TOML texts.
config_sources = ["crates/lumi-bridge/src/config/mod.rs", "crates/lumi-bridge/src/config/tests.rs",
                  "crates/lumi-bridge/src/config/file.rs", "crates/lumi-bridge/src/lib.rs"]
if os.path.exists(os.path.join(root, "packaging", "lumi.toml")):
    write("config", read("packaging/lumi.toml"))
for src in config_sources:
    text = read(src)
    for block in doc_blocks(text, "toml"):
        write("config", block)
    for s in raw_strings(text):
        if re.search(r"^\s*(\[|[a-z_]+\s*=)", s, re.M):
            write("config", s)

# scenario: the scenario docs and tests.
for src in ["crates/lumi-sim/src/scenario.rs", "crates/lumi/tests/sim_cli.rs"]:
    text = read(src)
    for block in doc_blocks(text, "toml"):
        write("scenario", block)
    for s in raw_strings(text):
        if "[[gateway]]" in s or "[[step]]" in s or "[[miio_device]]" in s:
            write("scenario", s)

for t in sorted(os.listdir(out)):
    print(t, len(os.listdir(os.path.join(out, t))))
