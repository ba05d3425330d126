#!/usr/bin/python3
"""What a password check costs per connection: connects per second for mqttd and Mosquitto, with and without a
password file, and with each kind of hash.

A reconnect storm of CLIENTS clients, CONCURRENCY connections open at a time: each connects, sends CONNECT
(with a username and its right password when the broker has a password file), waits for CONNACK 0, sends
DISCONNECT and waits for the broker to close. Five brokers, one after the other:

    mqttd      no password file (anonymous)
    mqttd      $argon2id$ file from mqttd-passwd (its default: m=19456 KiB, t=2, p=1)
    mqttd      $7$ file from Debian's mosquitto_passwd 2.0.11 (PBKDF2-SHA512, 101 iterations)
    mosquitto  the same $7$ file (Debian's mosquitto 2.0.11)
    mosquitto  no password file

Reports connects/s (the median of ROUNDS storms), the ratio to mqttd without a password file, the broker's
own CPU time per connect over all rounds (utime + stime of every thread, from /proc/PID/stat, so the Python
client's cost is not counted), and the CONNECT -> CONNACK latency (median and 99th percentile over all rounds;
with CONCURRENCY connections always waiting, it is about CONCURRENCY / rate by Little's law). The client is one
Python thread on the same machine: without a password file it, not the broker, limits the rate; the CPU column
is the fairer comparison there.

    /usr/bin/python3 bench/connect_rate.py --mqttd build/broker/mqttd [--passwd build/auth/mqttd-passwd]
                                           [--clients 1000] [--concurrency 50] [--rounds 3] [--threads 0]
"""

import argparse
import os
import selectors
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: starts and stops mqttd and mosquitto)

TICKS = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
USER, PASSWORD = "bench-user", "bench-password-1"
CONNACK_ACCEPTED = b"\x20\x02\x00\x00"
DISCONNECT = b"\xe0\x00"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads


def encode_string(value):
    data = value.encode()
    return struct.pack("!H", len(data)) + data


def connect_packet(client_id, username=None, password=None):
    flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)
    body = encode_string("MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + encode_string(client_id)
    if username:
        body += encode_string(username)
    if password:
        body += encode_string(password)
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


class Connection:
    __slots__ = ("sock", "packet", "started", "received", "phase")

    def __init__(self, packet):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.packet = packet
        self.started = time.monotonic()
        self.received = b""
        self.phase = "connecting"


def storm(port, clients, concurrency, credentials, prefix, timeout=300.0):
    """Runs one storm; returns (wall seconds, [CONNECT -> CONNACK seconds]). Fails on anything but CONNACK 0."""
    sel = selectors.DefaultSelector()
    opened = finished = 0
    latencies = []
    start = time.monotonic()
    deadline = start + timeout
    while finished < clients:
        while opened < clients and opened - finished < concurrency:
            c = Connection(connect_packet("%s-%05d" % (prefix, opened), *credentials))
            c.sock.connect_ex((HOST, port))
            sel.register(c.sock, selectors.EVENT_WRITE, c)
            opened += 1
        if time.monotonic() > deadline:
            raise RuntimeError("storm did not finish within %.0f s (%d of %d done)" % (timeout, finished, clients))
        for key, events in sel.select(timeout=1.0):
            c = key.data
            if c.phase == "connecting":
                c.sock.send(c.packet)
                c.phase = "awaiting_connack"
                c.started = time.monotonic()
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(64)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if c.phase == "awaiting_connack":
                c.received += data
                if not data or (len(c.received) >= 4 and c.received[:4] != CONNACK_ACCEPTED):
                    raise RuntimeError("expected CONNACK 0, got %r" % c.received)
                if len(c.received) >= 4:
                    latencies.append(time.monotonic() - c.started)
                    c.sock.send(DISCONNECT)
                    c.phase = "awaiting_close"
            elif not data:                               # the broker closed after DISCONNECT
                sel.unregister(c.sock)
                c.sock.close()
                finished += 1
    sel.close()
    return time.monotonic() - start, latencies


def make_password_files(folder, passwd_tool):
    files = {}
    files["argon2id"] = os.path.join(folder, "passwd-argon2id")
    subprocess.run([passwd_tool, "-c", "-b", files["argon2id"], USER, PASSWORD], check=True, capture_output=True)
    files["pbkdf2"] = os.path.join(folder, "passwd-7")
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", files["pbkdf2"], USER, PASSWORD], check=True,
                   capture_output=True)
    for kind, prefix in (("argon2id", "$argon2id$"), ("pbkdf2", "$7$101$")):
        with open(files[kind]) as f:
            line = f.read()
        if not line.startswith("%s:%s" % (USER, prefix)):
            raise RuntimeError("%s: expected a %s hash, got %s" % (files[kind], prefix, line.strip()))
    return files


def start(kind, binary, password_file, folder, threads):
    if kind == "mqttd":
        auth = {"allow_anonymous": password_file is None}
        if password_file:
            auth["password_file"] = password_file
        # info: the port mqttd picked is in its event=listening line. Mosquitto logs a line per connect too.
        config = {"listeners": [{"type": "tcp", "bind": HOST, "port": 0}], "threads": threads,
                  "log_level": "info", "auth": auth}
        return broker.start_mqttd(binary, config, folder)
    settings = ["allow_anonymous false", "password_file " + password_file] if password_file else []
    return broker.start_mosquitto(folder, settings=settings)


def measure(kind, binary, password_file, folder, args):
    credentials = (USER, PASSWORD) if password_file else (None, None)
    b = start(kind, binary, password_file, folder, args.threads)
    try:
        storm(b.ports[0], 20, 10, credentials, "warmup")
        rates, latencies = [], []
        cpu0 = cpu_seconds(b.pid)
        for r in range(args.rounds):
            wall, lat = storm(b.ports[0], args.clients, args.concurrency, credentials, "round%d" % r)
            rates.append(args.clients / wall)
            latencies += lat
        # Over all rounds: /proc counts CPU in ticks of 10 ms, coarse for 1,000 cheap connects.
        cpu_ms = (cpu_seconds(b.pid) - cpu0) / (args.clients * args.rounds) * 1000
        if not b.is_running():
            raise RuntimeError("%s exited during the storm\n%s" % (kind, b.log_tail()))
    finally:
        b.stop()
    latencies.sort()
    return {"rate": statistics.median(rates), "cpu_ms": cpu_ms,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqttd", required=True, help="the mqttd binary")
    parser.add_argument("--passwd", help="mqttd-passwd (default: next to --mqttd)")
    parser.add_argument("--clients", type=int, default=1000, help="connections per storm (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="open at a time (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="storms per broker; the median is shown (default 3)")
    parser.add_argument("--threads", type=int, default=0, help="mqttd worker threads (default 0: one per core)")
    args = parser.parse_args()
    passwd_tool = broker.find_passwd(args.passwd, args.mqttd)
    for tool, what in ((args.mqttd, "--mqttd"), (passwd_tool, "mqttd-passwd (--passwd)"),
                       (broker.MOSQUITTO, "Debian's mosquitto"), (MOSQUITTO_PASSWD, "Debian's mosquitto_passwd")):
        if not tool or not os.access(tool, os.X_OK):
            sys.exit("needs %s" % what)

    folder = tempfile.mkdtemp(prefix="mqttd-bench-connect-")
    try:
        files = make_password_files(folder, passwd_tool)
        rows = [("mqttd", "none (anonymous)", None),
                ("mqttd", "$argon2id$ (mqttd-passwd)", files["argon2id"]),
                ("mqttd", "$7$ 101 it. (mosquitto_passwd)", files["pbkdf2"]),
                ("mosquitto 2.0.11", "$7$ 101 it. (mosquitto_passwd)", files["pbkdf2"]),
                ("mosquitto 2.0.11", "none (anonymous)", None)]
        results = []
        for name, label, password_file in rows:
            kind = "mqttd" if name == "mqttd" else "mosquitto"
            results.append(measure(kind, os.path.abspath(args.mqttd), password_file, folder, args))
            print("  measured %s, %s: %.0f connects/s" % (name, label, results[-1]["rate"]), file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print("%d clients per storm, %d at a time, CONNECT -> CONNACK 0 -> DISCONNECT; median of %d storms; "
          "%d CPU cores; mqttd threads=%d" % (args.clients, args.concurrency, args.rounds, os.cpu_count(),
                                             args.threads))
    print("| broker | password file | connects/s | vs mqttd, none | broker CPU ms/connect | CONNACK p50 ms "
          "| p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    base = results[0]["rate"]
    for (name, label, _), r in zip(rows, results):
        print("| %s | %s | %.0f | %.2f | %.2f | %.1f | %.1f |"
              % (name, label, r["rate"], r["rate"] / base, r["cpu_ms"], r["p50_ms"], r["p99_ms"]))
    print("mqttd $argon2id$ / mosquitto $7$: %.2f x the connects/s, %.1f x the CPU per connect"
          % (results[1]["rate"] / results[3]["rate"], results[1]["cpu_ms"] / max(results[3]["cpu_ms"], 1e-9)))
    print("mqttd $7$ / mosquitto $7$: %.2f x the connects/s, %.1f x the CPU per connect"
          % (results[2]["rate"] / results[3]["rate"], results[2]["cpu_ms"] / max(results[3]["cpu_ms"], 1e-9)))


if __name__ == "__main__":
    main()
