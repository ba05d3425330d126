#!/usr/bin/python3
"""Two (or more) mqttd builds side by side on one mqttd-bench scenario: the A/B check each performance change in
issue 10 was kept by. Each round starts every build in turn (a fresh broker, persistence off, on port 0) and
runs the scenario against it; the medians of delivered msg/s and of broker CPU µs per delivered message (utime +
stime of all its threads from /proc/PID/stat, over the generator's measurement window) are printed per build.
For `conns`: connects/s and broker CPU µs per connect (from the generator's start to its result line, when every
connection has its CONNACK; the hold is then ended with SIGTERM).

    /usr/bin/python3 bench/ab_builds.py --builds OLD/broker/mqttd,build-bench/broker/mqttd \\
        --bench build-bench/bench/mqttd-bench --rounds 3 --inflight 20 -- fanin --qos 1 --seconds 3 --warmup 1
    /usr/bin/python3 bench/ab_builds.py --builds OLD/broker/mqttd,build-bench/broker/mqttd \
        --bench build-bench/bench/mqttd-bench --rounds 5 -- conns --connections 10000 --seconds 60
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: starts and stops mqttd)

sys.path.insert(0, HERE)
from durable_throughput import cpu_seconds  # noqa: E402


def run(binary, bench, scenario, inflight):
    config = {"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 0}], "persistence": {"enabled": False},
              "max_inflight": inflight, "max_queued_messages": 1000000}
    b = broker.BrokerProcess.start_mqttd(binary, config, tempfile.mkdtemp(prefix="ab-"))
    try:
        cpu_before = cpu_seconds(b.pid)
        proc = subprocess.Popen([bench] + scenario + ["--port", str(b.ports[0])], stdout=subprocess.PIPE, text=True,
                                preexec_fn=broker.die_with_parent)
        marks, result = {}, None
        for line in proc.stdout:
            if line.startswith("event=measure_"):
                marks[line.strip()] = cpu_seconds(b.pid)
            elif line.startswith("{"):
                result = json.loads(line)
                if result["scenario"] == "conns":
                    cpu = cpu_seconds(b.pid) - cpu_before
                    proc.send_signal(signal.SIGTERM)  # our own child, by PID: it would hold the connections
                    proc.wait(timeout=30)
                    if result["error"] or result["connected"] != result["connections"]:
                        raise RuntimeError(f"{bench} {' '.join(scenario)}: {result}")
                    return result["connect_rate"], cpu / result["connected"] * 1e6, result["failed"]
        proc.wait(timeout=120)
    finally:
        b.stop()
    if result is None or len(marks) != 2:
        raise RuntimeError(f"{bench} {' '.join(scenario)}: no result")
    cpu = marks["event=measure_end"] - marks["event=measure_start"]
    return result["rate"], cpu / max(1, result["delivered"]) * 1e6, result["lost"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", required=True, help="comma-separated mqttd binaries")
    parser.add_argument("--bench", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=1000, help="max_inflight of every build")
    parser.add_argument("scenario", nargs=argparse.REMAINDER, help="-- then mqttd-bench's arguments")
    args = parser.parse_args()
    scenario = [a for a in args.scenario if a != "--"]
    builds = [os.path.abspath(b) for b in args.builds.split(",")]
    results = {b: [] for b in builds}
    for _ in range(args.rounds):
        for b in builds:
            results[b].append(run(b, os.path.abspath(args.bench), scenario, args.inflight))
    for b in builds:
        rates, cpus, lost = zip(*results[b])
        unit = "connect" if scenario[:1] == ["conns"] else "msg"
        print(f"{b}: {statistics.median(rates):.0f} {unit}/s, {statistics.median(cpus):.2f} µs CPU/{unit}, "
              f"{'failed' if unit == 'connect' else 'lost'} {list(lost)}; CPU per round {[round(c, 1) for c in cpus]}")


if __name__ == "__main__":
    main()
