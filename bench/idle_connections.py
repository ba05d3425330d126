#!/usr/bin/python3
"""Memory per idle connection, mqttd beside Debian's Mosquitto in one run, over TCP, TLS, WS and WSS.

For each broker and transport, a fresh broker (one worker thread for mqttd, as Mosquitto has one) is started,
its VmRSS read from /proc/PID/status, then N connections are opened and each sends CONNECT (clean session,
keepalive 600 s, a client id of its own) and waits for CONNACK 0. Once all are connected and the broker's RSS
has settled, RSS is read again; (after - before) / N is the memory per idle connection. The connections are then
closed and the broker stopped. Each case runs --rounds times, alternating the brokers; the table shows the
medians and the mqttd/Mosquitto ratio.

    /usr/bin/python3 bench/idle_connections.py --mqttd build/broker/mqttd [--tcp 10000] [--tls 2000]
        [--ws 5000] [--wss 2000] [--rounds 3]

Connections are opened 32 at a time. The clients are plain Python sockets in this process (the open-file limit must allow N + a few); TLS uses
a certificate made at start by openssl; WS sends the HTTP upgrade, waits for 101, and sends the CONNECT in one masked binary frame;
WSS is WS over TLS. A count of 0 skips that transport.
"""

import argparse
import base64
import concurrent.futures
import os
import shutil
import socket
import ssl
import statistics
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: starts and stops mqttd and mosquitto)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payload_cost import make_certs  # noqa: E402

TRANSPORTS = ("tcp", "tls", "ws", "wss")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def connect_packet(client_id):
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02" + struct.pack("!H", 600) + struct.pack("!H", len(cid)) + cid
    return bytes([0x10, len(body)]) + body


def ws_frame(payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x82, 0x80 | len(payload)]) + mask + masked


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def open_connection(transport, port, certs_context, n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    packet = connect_packet("idle-%s-%d" % (transport, n))
    if transport in ("tls", "wss"):
        s = certs_context.wrap_socket(s, server_hostname="localhost")
    if transport == "tls":
        s.sendall(packet)
        connack = read_exactly(s, 4)
    elif transport in ("ws", "wss"):
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
                   % key).encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += s.recv(1)
        if b" 101 " not in response.split(b"\r\n")[0]:
            raise RuntimeError("WebSocket upgrade refused: %r" % response)
        s.sendall(ws_frame(packet))  # only after the 101: a client MUST wait for it (RFC 6455, 4.1)
        header = read_exactly(s, 2)
        connack = read_exactly(s, header[1] & 0x7F)
    else:
        s.sendall(packet)
        connack = read_exactly(s, 4)
    if connack != b"\x20\x02\x00\x00":
        raise RuntimeError("connection %d: expected CONNACK 0, got %r" % (n, connack))
    return s


def settled_rss(pid, seconds=1.0):
    """RSS once it has stopped changing for a moment (freed buffers returned, nothing in flight)."""
    last = rss_kib(pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(seconds)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


def measure(b, transport, port, context, count):
    before = settled_rss(b.pid)
    sockets = []
    try:
        start = time.monotonic()
        # 32 at a time: Mosquitto answers each TLS or WebSocket CONNECT only after tens of milliseconds of
        # its own timers, so one at a time would take minutes; the rate column is for this concurrency.
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            for s in pool.map(lambda n: open_connection(transport, port, context, n), range(count)):
                sockets.append(s)
        took = time.monotonic() - start
        after = settled_rss(b.pid)
    finally:
        for s in sockets:
            s.close()
    return (after - before) * 1024 / count, count / took


def start(name, args, certs, folder):
    cert = {"cert_file": f"{certs}/server.crt", "key_file": f"{certs}/server.key"}
    if name == "mqttd":
        config = {"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 0},
                                {"type": "tls", "bind": "127.0.0.1", "port": 0, **cert},
                                {"type": "ws", "bind": "127.0.0.1", "port": 0},
                                {"type": "wss", "bind": "127.0.0.1", "port": 0, **cert}],
                  "threads": 1, "log_level": "info", "persistence": {"enabled": False}}
        return broker.start_mqttd(args.mqttd, config, folder)
    return broker.start_mosquitto(folder, listeners=[[], [f"certfile {certs}/server.crt", f"keyfile {certs}/server.key"],
                                                     ["protocol websockets"],
                                                     ["protocol websockets", f"certfile {certs}/server.crt",
                                                      f"keyfile {certs}/server.key"]],
                                  settings=["per_listener_settings false"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqttd", required=True)
    parser.add_argument("--tcp", type=int, default=10000)
    parser.add_argument("--tls", type=int, default=2000)
    parser.add_argument("--ws", type=int, default=5000)
    parser.add_argument("--wss", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("/usr/sbin/mosquitto"):
        sys.exit("needs Debian's mosquitto (apt-get install mosquitto)")
    counts = {"tcp": args.tcp, "tls": args.tls, "ws": args.ws, "wss": args.wss}
    folder = tempfile.mkdtemp(prefix="mqttd-idle-")
    make_certs(folder)
    context = ssl.create_default_context(cafile=f"{folder}/ca.crt")
    results = {}
    try:
        for r in range(args.rounds):
            for name in ("mqttd", "mosquitto") if r % 2 == 0 else ("mosquitto", "mqttd"):
                for t in TRANSPORTS:
                    if counts[t] == 0:
                        continue
                    b = start(name, args, folder, tempfile.mkdtemp(dir=folder))
                    try:
                        port = dict(zip(TRANSPORTS, b.ports))[t]
                        results.setdefault((name, t), []).append(measure(b, t, port, context, counts[t]))
                    finally:
                        b.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("memory per idle connection (VmRSS growth / connections), median of %d rounds" % args.rounds)
    print(f"{'transport':<10}{'connections':>12}{'mqttd B':>10}{'mosquitto B':>13}{'ratio':>8}"
          f"{'mqttd conn/s':>14}{'mosquitto conn/s':>18}")
    for t in TRANSPORTS:
        if counts[t] == 0:
            continue
        m = [x for x, _ in results[("mqttd", t)]]
        q = [x for x, _ in results[("mosquitto", t)]]
        mr = [y for _, y in results[("mqttd", t)]]
        qr = [y for _, y in results[("mosquitto", t)]]
        mm, qm = statistics.median(m), statistics.median(q)
        print(f"{t:<10}{counts[t]:>12}{mm:>10.0f}{qm:>13.0f}{mm / qm:>8.2f}"
              f"{statistics.median(mr):>14.0f}{statistics.median(qr):>18.0f}")


if __name__ == "__main__":
    main()
