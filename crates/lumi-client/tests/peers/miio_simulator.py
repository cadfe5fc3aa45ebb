"""Runs python-miio's own miIO simulator (`miiocli devtools miio-simulator`) on loopback.

Usage: python miio_simulator.py FILE MODEL

Prints `LISTENING <port> <device id> <mac>` once bound, then serves until standard input
closes (the test holds it open; when the test ends, the pipe closes and this exits).

The simulator (miio/devtools/simulators/miiosimulator.py) serves through python-miio's
PushServer, which binds 0.0.0.0:54321: `self._address = "0.0.0.0"` in `__init__` and the
module constant `SERVER_PORT` in `_create_udp_server`. lumi's tests stay on loopback and
never take a fixed port, so this wrapper sets the constant to 0 (the kernel picks a free
port), forces the address to 127.0.0.1 and reports the bound port. Everything else is the
simulator's own code: its click command runs unchanged with the given --file and --model.
"""
import os
import sys
import threading

import miio.push_server.server as push_server
from miio.devtools.simulators.common import did_and_mac_for_model
from miio.devtools.simulators.miiosimulator import miio_simulator
from miio.push_server.server import PushServer

push_server.SERVER_PORT = 0

_original_init = PushServer.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self._address = "127.0.0.1"


PushServer.__init__ = _init

_original_create = PushServer._create_udp_server


async def _create_udp_server(self):
    transport, protocol = await _original_create(self)
    host, port = transport.get_extra_info("sockname")[:2]
    assert host == "127.0.0.1", host
    _, mac = did_and_mac_for_model(MODEL)
    print(f"LISTENING {port} {self.device_id} {mac}", flush=True)
    return transport, protocol


PushServer._create_udp_server = _create_udp_server


def _exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    FILE, MODEL = sys.argv[1], sys.argv[2]
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    miio_simulator.main(args=["--file", FILE, "--model", MODEL], standalone_mode=False)
