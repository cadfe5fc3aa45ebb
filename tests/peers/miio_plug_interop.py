"""python-miio against a simulated Wi-Fi plug (`lumi_sim::miio::SimMiioDevice`).

Usage: miio_plug_interop.py IP PORT TOKEN

Prints, one per line:
  INFO <json>         Device(ip, token).info(): model, firmware, mac, ip, token field
  STATUS <json>       ChuangmiPlug(...).status() before and after on()
  DUPLICATE <id>      a fresh Device reusing id 1 within the plug's duplicate window: the
                      plug ignores it, python-miio times out and retries with id + 100 + 1
  WRONG_TOKEN <text>  what python-miio makes of a wrong token (the plug stays silent)
Exits 0 when all of it worked.
"""
import json
import sys

from miio import ChuangmiPlug, Device, DeviceException

from miio_peers import use_port

ip, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]

dev = Device(ip, token)
use_port(dev, port)
info = dev.info()
print("INFO " + json.dumps({
    "model": info.model,
    "fw_ver": info.firmware_version,
    "hw_ver": info.hardware_version,
    "mac": info.mac_address,
    "ip": info.ip_address,
    "token": info.token,
    "device_id": dev.device_id,
}), flush=True)

# A new python-miio Device starts its ids at 1 again; real devices drop an id they saw a
# moment ago (and so does the simulated one), so this one starts elsewhere.
plug = ChuangmiPlug(ip, token, model="chuangmi.plug.m1", start_id=1000)
use_port(plug, port)
before = plug.status()
plug.on()
after = plug.status()
print("STATUS " + json.dumps({
    "before": {"power": before.power, "temperature": before.temperature},
    "after": {"power": after.power, "temperature": after.temperature},
}), flush=True)

fresh = Device(ip, token, timeout=1)
use_port(fresh, port)
assert fresh.send("get_prop", ["power"]) == ["on"]
print("DUPLICATE %d" % fresh.raw_id, flush=True)

wrong = Device(ip, "ff" * 16, timeout=1)
use_port(wrong, port)
try:
    wrong.send("miIO.info", retry_count=0)
    print("WRONG_TOKEN answered", flush=True)
    sys.exit(1)
except DeviceException as e:
    print("WRONG_TOKEN " + type(e).__name__ + ": " + str(e), flush=True)
