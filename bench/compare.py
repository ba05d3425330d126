#!/usr/bin/python3
"""mqttd beside Debian's Mosquitto, scenario by scenario, with the same load generator (mqttd-bench) and the same
limits, alternating the brokers for several rounds in one run. Called by bench/compare.sh (see there for how to
build); standard library only, under Debian's /usr/bin/python3.

Each measurement starts a fresh broker on a free loopback port (mqttd binds port 0 and logs it; Mosquitto gets a
port chosen just before, see tests/harness/broker.py), runs one mqttd-bench scenario against it and stops it by
PID. Both brokers get the same limits: 1000 unacknowledged outgoing QoS 1/2 messages per client, 1,000,000 queued
per client, nothing kept on disk (mqttd: persistence.enabled false; Mosquitto: persistence false), TCP_NODELAY
(mqttd always sets it; Mosquitto: set_tcp_nodelay true). mqttd runs `--threads` workers (0: one per core),
Mosquitto its one thread.

Measured for each run, over the generator's measurement window (between its event=measure_start and
event=measure_end lines): messages delivered per second (the generator's count), the broker's CPU time per
delivered message (utime + stime of all its threads, /proc/PID/stat; the generator is not counted) and its RSS at
the end of the window (VmRSS, /proc/PID/status), and the generator's own CPU (bench cores: near 1.0, the
generator rather than the broker may set the rate). For `conns`: connects per second, the broker's CPU per connect,
(RSS with all connections held, once settled - RSS before) / connections, and the generator's CPU while it
connected (bench cores, as above). The tables show the median of the
rounds for each figure, and mqttd / Mosquitto ratios of the medians.

Scenarios are mqttd-bench's, written NAME[:key=value,...] with its options as keys, e.g.
    fanin:qos=1  pairs:qos=1,publishers=100  fanout:qos=0,subscribers=100  latency:qos=1,rate=5000
    conns:connections=2000  conns:connections=2000,transport=tls  conns:connections=2000,transport=ws
    subs:qos=1,entries=100000  retained:qos=1,entries=100000  subs:qos=1,entries=1000000,fill-connections=100
    shared:qos=1,publishers=8,subscribers=10  (a $share group of 10 members)
Both brokers get a TLS listener (a self-signed certificate made at start by openssl) for transport=tls, a
WebSocket listener for transport=ws.
"""

import argparse
import datetime
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: starts and stops mqttd and mosquitto)

sys.path.insert(0, HERE)
from durable_throughput import cpu_seconds  # noqa: E402  (utime + stime of every thread, in seconds)

BROKERS = ("mqttd", "mosquitto")
MAX_INFLIGHT = 1000
MAX_QUEUED = 1000000
DEFAULT_SCENARIOS = ("fanin:qos=1 pairs:qos=1 fanout:qos=0,subscribers=100 latency:qos=1,rate=5000 "
                     "conns:connections=2000")


def rss_kib(pid, key="VmRSS:"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} for {pid}")


def settled_rss(pid, interval=0.5, limit=10):
    """RSS once it stopped changing (by less than 64 KiB over interval), or after limit seconds."""
    last = rss_kib(pid)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


def parse_scenario(text):
    name, _, rest = text.partition(":")
    options = dict(item.split("=", 1) for item in rest.split(",") if item)
    return {"label": " ".join([name] + [f"{k}={v}" for k, v in options.items()]), "name": name, "options": options}


def make_certificate(folder):
    """A self-signed certificate for the TLS listeners (mqttd-bench does not verify it)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
                    "server.crt", "-days", "1", "-subj", "/CN=localhost"], cwd=folder, check=True, capture_output=True)


def start_broker(kind, args, folder, transport="tcp"):
    """A broker with a TCP listener, and a second one of the transport's type for tls or ws."""
    if kind == "mqttd":
        listeners = [{"type": "tcp", "bind": "127.0.0.1", "port": 0}]
        if transport == "tls":
            listeners.append({"type": "tls", "bind": "127.0.0.1", "port": 0, "cert_file": f"{folder}/server.crt",
                              "key_file": f"{folder}/server.key"})
        elif transport == "ws":
            listeners.append({"type": "ws", "bind": "127.0.0.1", "port": 0})
        # log_level info: the harness reads the bound port from the event=listening line.
        config = {"listeners": listeners, "log_level": "info",
                  "threads": args.threads, "max_inflight": MAX_INFLIGHT, "max_queued_messages": MAX_QUEUED,
                  "max_queued_bytes": 0, "persistence": {"enabled": False}}
        return broker.start_mqttd(args.mqttd, config, folder)
    listeners = [[]]
    if transport == "tls":
        listeners.append([f"certfile {folder}/server.crt", f"keyfile {folder}/server.key"])
    elif transport == "ws":
        listeners.append(["protocol websockets"])
    return broker.start_mosquitto(folder, listeners=listeners,
                                  settings=[f"max_inflight_messages {MAX_INFLIGHT}",
                                            f"max_queued_messages {MAX_QUEUED}", "set_tcp_nodelay true"])


class LineReader:
    """Lines of a child's stdout, each awaited until a deadline (so a stuck generator cannot hang the run)."""

    def __init__(self, proc, deadline):
        self.proc, self.deadline, self.buffer = proc, deadline, b""

    def next(self):
        while b"\n" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("mqttd-bench did not finish in time")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def run_bench(b, scenario, args):
    """One mqttd-bench run against broker b: a dict of the figures for the tables."""
    o = dict(scenario["options"])
    command = [args.bench, scenario["name"], "--port", str(b.ports[-1]), "--seconds", str(args.seconds),
               "--warmup", str(args.warmup)] + [x for k, v in o.items() for x in (f"--{k}", v)]
    if scenario["name"] == "conns":
        command += ["--seconds", "60"]          # held until measured, then ended here (the last --seconds wins)
    entries = int(o.get("entries", 100000)) if scenario["name"] in ("subs", "retained") else 0
    budget = args.warmup + args.seconds + 90 + entries / 2000
    rss_before = settled_rss(b.pid) if scenario["name"] == "conns" else rss_kib(b.pid)
    cpu_before = cpu_seconds(b.pid)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=broker.die_with_parent)
    reader = LineReader(proc, time.monotonic() + budget)
    marks, result = {}, None
    try:
        while True:
            line = reader.next()
            if line is None:
                break
            if line.startswith("event=measure_"):
                marks[line] = (cpu_seconds(b.pid), time.monotonic(), rss_kib(b.pid))
            elif line.startswith("{"):
                result = json.loads(line)
                if scenario["name"] == "conns":
                    result["cpu"] = cpu_seconds(b.pid) - cpu_before
                    result["rss_kib"] = settled_rss(b.pid)
                    result["rss_before_kib"] = rss_before
                    break
        if scenario["name"] == "conns":
            proc.send_signal(signal.SIGTERM)        # our own child, by PID: it holds the connections for 60 s
        code = proc.wait(timeout=max(1, reader.deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        proc.stdout.close()
    if result is None or result.get("error"):
        raise RuntimeError(f"{' '.join(command)} failed (exit {proc.returncode}): "
                           f"{(result or {}).get('error', '')} {err.strip()}\n{b.log_tail(20)}")
    if scenario["name"] == "conns":
        if result["connected"] != result["connections"]:
            raise RuntimeError(f"{b.kind}: only {result['connected']} of {result['connections']} connected")
        return {"connect_rate": result["connect_rate"],
                "cpu_us": result["cpu"] / result["connected"] * 1e6,
                "bytes_per_conn": (result["rss_kib"] - result["rss_before_kib"]) * 1024 / result["connected"],
                "rss_mib": result["rss_kib"] / 1024, "bench_cores": result["bench_cores"]}
    if code != 0 or len(marks) != 2:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {err.strip()}\n{b.log_tail(20)}")
    (cpu0, wall0, _), (cpu1, wall1, rss1) = marks["event=measure_start"], marks["event=measure_end"]
    delivered = max(result["delivered"], 1)
    lat = result["latency_us"]
    return {"rate": result["rate"], "cpu_us": (cpu1 - cpu0) / delivered * 1e6,
            "cores": (cpu1 - cpu0) / (wall1 - wall0),
            "rss_mib": rss1 / 1024, "lost": result["lost"], "duplicates": result["duplicates"],
            "reordered": result["reordered"], "skipped": result["skipped"], "fill_s": result["fill_s"],
            "bench_cores": result["bench_cores"],
            "p50": lat["p50"], "p90": lat["p90"], "p99": lat["p99"], "p999": lat["p999"], "max": lat["max"]}


def measure_all(scenarios, args, log=sys.stderr):
    """{(label, broker): [figures per round]}, the brokers alternating which goes first each round."""
    results = {}
    folder = tempfile.mkdtemp(prefix="mqttd-compare-")
    try:
        if any(s["options"].get("transport", "tcp") == "tls" for s in scenarios):
            make_certificate(folder)
        for r in range(args.rounds):
            for s in scenarios:
                for kind in (BROKERS if r % 2 == 0 else BROKERS[::-1]):
                    b = start_broker(kind, args, folder, s["options"].get("transport", "tcp"))
                    try:
                        figures = run_bench(b, s, args)
                    finally:
                        b.stop()
                        shutil.rmtree(b.dir, ignore_errors=True)
                    results.setdefault((s["label"], kind), []).append(figures)
                    shown = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in figures.items())
                    print(f"round {r + 1} {s['label']} {kind}: {shown}", file=log, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def median(results, label, kind, key):
    return statistics.median(f[key] for f in results[(label, kind)])


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def print_tables(scenarios, results, args):
    version = subprocess.run([broker.MOSQUITTO, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"mqttd vs {version}: medians of {args.rounds} rounds, {args.seconds:g} s measured after {args.warmup:g} s; "
          f"{datetime.date.today()}, {os.cpu_count()} cores shared by both brokers (one at a time) and mqttd-bench; "
          f"mqttd threads={args.threads or os.cpu_count()}, Mosquitto 1 thread")
    w = max([34] + [len(s["label"]) + 2 for s in scenarios])     # the label column
    flows = [s for s in scenarios if s["name"] != "conns"]
    if flows:
        print()
        print(f"{'scenario':<{w}}{'mqttd msg/s':>12}{'mosq msg/s':>12}{'ratio':>7}{'mqttd µs/msg':>14}"
              f"{'mosq µs/msg':>13}{'ratio':>7}{'mqttd MiB':>11}{'mosq MiB':>10}"
              f"  lost/dup/reord (m; q)  bench cores (m; q)")
        for s in flows:
            label = s["label"]
            m = {k: median(results, label, "mqttd", k) for k in ("rate", "cpu_us", "rss_mib")}
            q = {k: median(results, label, "mosquitto", k) for k in ("rate", "cpu_us", "rss_mib")}
            errs = {kind: "/".join(str(sum(f[k] for f in results[(label, kind)]))
                                   for k in ("lost", "duplicates", "reordered")) for kind in BROKERS}
            print(f"{label:<{w}}{m['rate']:>12.0f}{q['rate']:>12.0f}{ratio(m['rate'], q['rate']):>7}"
                  f"{m['cpu_us']:>14.2f}{q['cpu_us']:>13.2f}{ratio(m['cpu_us'], q['cpu_us']):>7}"
                  f"{m['rss_mib']:>11.1f}{q['rss_mib']:>10.1f}  {errs['mqttd'] + '; ' + errs['mosquitto']:<21}"
                  f"  {median(results, label, 'mqttd', 'bench_cores'):.2f}; "
                  f"{median(results, label, 'mosquitto', 'bench_cores'):.2f}")
    paced = [s for s in scenarios if s["name"] == "latency"]
    if paced:
        print()
        print(f"{'latency, µs (median of rounds)':<{w}}{'broker':<11}{'p50':>8}{'p90':>8}{'p99':>8}{'p99.9':>8}"
              f"{'max':>8}{'p99 ratio':>11}")
        for s in paced:
            p99 = {kind: median(results, s["label"], kind, "p99") for kind in BROKERS}
            for kind in BROKERS:
                cells = "".join(f"{median(results, s['label'], kind, k):>8.0f}"
                                for k in ("p50", "p90", "p99", "p999", "max"))
                tail = ratio(p99["mqttd"], p99["mosquitto"]) if kind == "mqttd" else ""
                print(f"{s['label'] if kind == 'mqttd' else '':<{w}}{kind:<11}{cells}{tail:>11}")
    conns = [s for s in scenarios if s["name"] == "conns"]
    if conns:
        print()
        print(f"{'scenario':<{w}}{'mqttd conn/s':>13}{'mosq conn/s':>12}{'ratio':>7}{'mqttd B/conn':>14}"
              f"{'mosq B/conn':>13}{'ratio':>7}{'mqttd µs CPU/conn':>19}{'mosq':>7}  bench cores (m; q)")
        for s in conns:
            m = {k: median(results, s["label"], "mqttd", k) for k in ("connect_rate", "bytes_per_conn", "cpu_us")}
            q = {k: median(results, s["label"], "mosquitto", k) for k in ("connect_rate", "bytes_per_conn", "cpu_us")}
            print(f"{s['label']:<{w}}{m['connect_rate']:>13.0f}{q['connect_rate']:>12.0f}"
                  f"{ratio(m['connect_rate'], q['connect_rate']):>7}{m['bytes_per_conn']:>14.0f}"
                  f"{q['bytes_per_conn']:>13.0f}{ratio(m['bytes_per_conn'], q['bytes_per_conn']):>7}"
                  f"{m['cpu_us']:>19.0f}{q['cpu_us']:>7.0f}  {median(results, s['label'], 'mqttd', 'bench_cores'):.2f}; "
                  f"{median(results, s['label'], 'mosquitto', 'bench_cores'):.2f}")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqttd", required=True)
    parser.add_argument("--bench", required=True, help="mqttd-bench")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                        help=f"space-separated (default: {DEFAULT_SCENARIOS})")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--threads", type=int, default=0, help="mqttd worker threads (0: one per core)")
    parser.add_argument("--plots", action="store_true", help="also draw bench/plots/*.png (needs gnuplot)")
    args = parser.parse_args()
    for path in (args.mqttd, args.bench, broker.MOSQUITTO):
        if not os.access(path, os.X_OK):
            sys.exit(f"compare: {path} is not an executable (see bench/compare.sh)")
    scenarios = [parse_scenario(text) for text in args.scenarios.split()]
    results = measure_all(scenarios, args)
    print_tables(scenarios, results, args)
    if args.plots:
        import plots  # noqa: E402  (bench/plots.py)
        plots.draw(args, measure_all, median)


if __name__ == "__main__":
    main()
