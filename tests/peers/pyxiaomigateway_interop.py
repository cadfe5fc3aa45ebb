"""PyXiaomiGateway (the library behind Home Assistant's xiaomi_aqara) against `lumi sim`.

Usage: pyxiaomigateway_interop.py DISCOVERY_PORT REPORT_PORT PASSWORD DOOR_SID

Runs on loopback only (interface 127.0.0.1). Prints, one per line:
  DISCOVERED <json>        gateways and devices PyXiaomiGateway found
  LISTENING                the multicast listener is up (the test then opens the door)
  REPORT <json>            the door's report arrived through PyXiaomiGateway's callback
  WRITE <true|false>       write_to_hub(gateway, rgb=...) with PyXiaomiGateway's own key
Exits 0 when all of it worked.
"""
import asyncio
import json
import sys

import xiaomi_gateway as xg

discovery_port, report_port = int(sys.argv[1]), int(sys.argv[2])
password, door_sid = sys.argv[3], sys.argv[4]

# The library hard-codes the protocol's ports; the test gives it free ones.
xg.MULTICAST_PORT = report_port
xg.XiaomiGatewayDiscovery.GATEWAY_DISCOVERY_PORT = discovery_port

discovery = xg.XiaomiGatewayDiscovery("127.0.0.1")
discovery.discover_gateways()
found = {
    ip: {
        "sid": gw.sid,
        "proto": gw.proto,
        "token": bool(gw.token),
        "devices": {kind: sorted(d["sid"] for d in devs) for kind, devs in gw.devices.items()},
    }
    for ip, gw in discovery.gateways.items()
}
print("DISCOVERED " + json.dumps(found), flush=True)
if not discovery.gateways:
    sys.exit(2)
ip, gateway = next(iter(discovery.gateways.items()))


async def main():
    loop = asyncio.get_running_loop()
    got = loop.create_future()

    def on_door(data, raw):
        if not got.done():
            got.set_result({"data": data, "raw": raw})

    gateway.callbacks[door_sid].append(on_door)
    listener = xg.AsyncXiaomiGatewayMulticast(interface="127.0.0.1")
    listener.register_gateway(ip, gateway.multicast_callback)
    await listener.start_listen()
    print("LISTENING", flush=True)
    report = await asyncio.wait_for(got, 20)
    print("REPORT " + json.dumps(report), flush=True)
    gateway.key = password
    ok = await loop.run_in_executor(None, lambda: gateway.write_to_hub(gateway.sid, rgb=1694433280))
    print("WRITE " + json.dumps(ok), flush=True)
    listener.stop_listen()
    return ok


sys.exit(0 if asyncio.run(main()) else 1)
