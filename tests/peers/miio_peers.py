"""Shared helpers for the python-miio interop scripts (imported, not run).

python-miio hard-codes UDP 54321 twice: `MiIOProtocol.port` (an attribute, set per device
below) and the handshake in `MiIOProtocol.discover`, which sends the hello to
`(addr, 54321)` whatever the port. The simulated devices of the tests listen on free ports,
so `use_port` also routes the handshake of that address to its port. The replacement does
what python-miio's unicast `discover` does (the 32-byte hello three times, the first
reply parsed with `Message.parse`) and nothing else.
"""
import socket

from miio.miioprotocol import MiIOProtocol
from miio.protocol import Message

HELLO = bytes.fromhex("21310020" + "ff" * 28)
_PORTS = {}
_original_discover = MiIOProtocol.discover


def _discover(addr=None, timeout=5):
    if addr not in _PORTS:
        return _original_discover(addr, timeout)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        for _ in range(3):
            s.sendto(HELLO, (addr, _PORTS[addr]))
        data, _ = s.recvfrom(1024)
        return Message.parse(data)
    except socket.timeout:
        return None
    finally:
        s.close()


MiIOProtocol.discover = staticmethod(_discover)


def use_port(device, port):
    """Talk to `device` (a python-miio Device) on `port` instead of 54321."""
    assert device.ip.startswith("127."), "the interop scripts stay on loopback"
    device._protocol.port = port
    _PORTS[device.ip] = port
