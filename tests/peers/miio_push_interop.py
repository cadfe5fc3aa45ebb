"""python-miio's PushServer (fake miIO device) receiving a button click from the simulated
gateway.

Usage: miio_push_interop.py GATEWAY_IP GATEWAY_PORT TOKEN PUSH_PORT BUTTON_SID

The gateway must send its pushes to PUSH_PORT (`GatewayConfig::push_port`). Prints:
  SUBSCRIBED <n>                 scenes registered with send_data_frame for the button
  EVENT <action> <sid> <params>  the push server's callback fired (then the test goes on)
  UNSUBSCRIBED                   every scene was removed again with miIO.xdel
Exits 0 when all of it worked.
"""
import asyncio
import json
import sys

import miio.push_server.server as push_server_module
from miio import Gateway, PushServer

from miio_peers import use_port

ip, port, token, push_port, button_sid = (
    sys.argv[1],
    int(sys.argv[2]),
    sys.argv[3],
    int(sys.argv[4]),
    sys.argv[5],
)
# The push server listens on SERVER_PORT (54321 on real networks).
push_server_module.SERVER_PORT = push_port


async def main():
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    server = PushServer(device_ip=ip)
    # python-miio binds 0.0.0.0; stay on loopback.
    server._address = "127.0.0.1"
    await server.start()
    assert server.server_ip.startswith("127."), server.server_ip
    gw = Gateway(ip, token, model="lumi.gateway.v3", push_server=server)
    use_port(gw, port)
    await loop.run_in_executor(None, gw.discover_devices)
    button = gw.devices["lumi." + button_sid]

    def on_push(source, action, params):
        if not got.done():
            got.set_result((source, action, params))
        gw.push_callback(source, action, params)

    # Same registration as Gateway(push_server=...) did, with a callback that also sees the
    # source sid; the subscribed event ids are kept.
    server.register_miio_device(gw, on_push)
    ok = await button.subscribe_events()
    print("SUBSCRIBED %d" % len(server._registered_devices[ip]["event_ids"]), flush=True)
    if not ok:
        return 1
    source, action, params = await asyncio.wait_for(got, 20)
    print("EVENT %s %s %s" % (action, source, json.dumps(params)), flush=True)
    # PushServer.stop() unsubscribes too, but iterates over the list it removes from (python-miio
    # 0.6.0.dev0 `unregister_miio_device`), so it skips every other scene: go over a copy first.
    for event_id in list(server._registered_devices[ip]["event_ids"]):
        if await server.unsubscribe_event(gw, event_id) != ["ok"]:
            return 1
    await server.stop()
    print("UNSUBSCRIBED", flush=True)
    return 0


sys.exit(asyncio.run(main()))
