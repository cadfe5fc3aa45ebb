"""python-miio's Gateway against the simulated gateway's miIO side.

Usage: miio_gateway_interop.py IP PORT TOKEN

Prints, one per line:
  DEVICE_LIST <json>  Gateway.send("get_device_prop", ["lumi.0", "device_list"])
  DEVICES <json>      Gateway.discover_devices(): {sid: [model, type]}
  SENSOR <json>       a sensor_ht sub-device's update(): its status
  LIGHT <json>        gateway.light.set_rgb(50, (255, 0, 0)) then rgb_status()
  KEY <text>          gateway.get_developer_key()
Exits 0 when all of it worked.
"""
import json
import sys

from miio import Gateway

from miio_peers import use_port

ip, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]

gw = Gateway(ip, token, model="lumi.gateway.v3")
use_port(gw, port)
print("DEVICE_LIST " + json.dumps(gw.send("get_device_prop", ["lumi.0", "device_list"])), flush=True)
devices = gw.discover_devices()
print("DEVICES " + json.dumps({sid: [d.model, d.device_type] for sid, d in devices.items()}), flush=True)
sensor = next(d for d in devices.values() if d.device_type == "SensorHT")
sensor.update()
print("SENSOR " + json.dumps(sensor.status), flush=True)
gw.light.set_rgb(50, (255, 0, 0))
print("LIGHT " + json.dumps(gw.light.rgb_status()), flush=True)
print("KEY " + gw.get_developer_key(), flush=True)
