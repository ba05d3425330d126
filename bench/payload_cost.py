#!/usr/bin/python3
"""What a large payload costs the broker over TCP, TLS, WS and WSS, for mqttd and Mosquitto side by side.

For each broker and transport: one subscriber and one publisher on that transport, COUNT messages of SIZE
bytes at QoS 1, each waited for at the subscriber before the next is sent. Reports the broker's own CPU time
per message (utime + stime from /proc/PID/stat, so the Python clients' cost is not counted), the wall time per
message round trip, and the mqttd/Mosquitto ratio of CPU time.

    /usr/bin/python3 bench/payload_cost.py --mqttd build/broker/mqttd [--size 1048576] [--count 50]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: starts and stops mqttd and mosquitto)

TICKS = os.sysconf("SC_CLK_TCK")
TRANSPORTS = ("tcp", "tls", "ws", "wss")          # the listeners of both brokers, in this order


def make_certs(folder):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
        "-subj", "/CN=bench CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(folder, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "server.crt", "-days", "1", "-extfile", "san.ext")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def start_mqttd(binary, certs, folder):
    cert = {"cert_file": f"{certs}/server.crt", "key_file": f"{certs}/server.key"}
    config = {"listeners": [
        {"type": "tcp", "bind": "127.0.0.1", "port": 0},
        {"type": "tls", "bind": "127.0.0.1", "port": 0, **cert},
        {"type": "ws", "bind": "127.0.0.1", "port": 0},
        {"type": "wss", "bind": "127.0.0.1", "port": 0, **cert}],
        # info, not warning: the ports mqttd picked are in its event=listening lines (one more line per client).
        "threads": 1, "log_level": "info"}
    return broker.start_mqttd(binary, config, folder)


def start_mosquitto(certs, folder):
    cert = [f"certfile {certs}/server.crt", f"keyfile {certs}/server.key"]
    websockets = ["protocol websockets"]
    return broker.start_mosquitto(folder, listeners=[[], cert, websockets, websockets + cert],
                                  settings=["per_listener_settings false"])


def client(transport, port, certs, name):
    c = mqtt.Client(client_id=name, transport="websockets" if transport in ("ws", "wss") else "tcp")
    if transport in ("tls", "wss"):
        c.tls_set(ca_certs=f"{certs}/ca.crt")
    if transport in ("ws", "wss"):
        c.ws_set_options(path="/mqtt")
    connected = threading.Event()
    c.on_connect = lambda *_: connected.set()
    c.connect("localhost" if transport in ("tls", "wss") else "127.0.0.1", port)
    c.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"{name}: no CONNACK")
    return c


def measure(pid, transport, port, certs, size, count):
    payload = os.urandom(size)
    received = threading.Semaphore(0)
    sub = client(transport, port, certs, f"sub-{transport}")
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda c, u, m: received.release() if len(m.payload) == size else None
    sub.subscribe("bench/payload", 1)
    subscribed.wait(10)
    pub = client(transport, port, certs, f"pub-{transport}")
    # one warm-up message, then the measured ones
    pub.publish("bench/payload", payload, qos=1)
    if not received.acquire(timeout=30):
        raise RuntimeError("warm-up message lost")
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    for _ in range(count):
        pub.publish("bench/payload", payload, qos=1)
        if not received.acquire(timeout=30):
            raise RuntimeError("message lost")
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return cpu / count * 1000, wall / count * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqttd", required=True)
    parser.add_argument("--size", type=int, default=1 << 20)
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("/usr/sbin/mosquitto"):
        sys.exit("needs Debian's mosquitto (apt-get install mosquitto)")

    folder = tempfile.mkdtemp(prefix="mqttd-bench-")
    make_certs(folder)
    results = {}
    for name in ("mqttd", "mosquitto"):
        b = start_mqttd(args.mqttd, folder, folder) if name == "mqttd" else start_mosquitto(folder, folder)
        try:
            ports = dict(zip(TRANSPORTS, b.ports))
            for t in TRANSPORTS:
                results[(name, t)] = measure(b.pid, t, ports[t], folder, args.size, args.count)
        finally:
            b.stop()
    shutil.rmtree(folder, ignore_errors=True)

    print(f"payload {args.size} bytes, {args.count} QoS 1 messages per transport, 1 publisher -> 1 subscriber")
    print(f"{'transport':<10}{'mqttd cpu ms/msg':>18}{'mosquitto cpu ms/msg':>22}{'cpu ratio':>11}"
          f"{'mqttd wall ms':>15}{'mosquitto wall ms':>19}")
    for t in TRANSPORTS:
        (mc, mw), (qc, qw) = results[("mqttd", t)], results[("mosquitto", t)]
        ratio = f"{mc / qc:.2f}" if qc > 0 else "n/a"
        print(f"{t:<10}{mc:>18.2f}{qc:>22.2f}{ratio:>11}{mw:>15.1f}{qw:>19.1f}")


if __name__ == "__main__":
    main()
