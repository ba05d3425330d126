#!/usr/bin/python3
"""What durability costs: QoS 1 throughput to a persistent subscriber in each of mqttd's sync modes, beside
its memory engine and Debian's Mosquitto 2.0 (in memory, its default), in one run.

Two scenarios, each against a fresh broker (and, for mqttd, a fresh store in a temporary directory):

    8 -> 1   eight publishers, one persistent subscriber (clean session 0), QoS 1
    1 -> 1   one publisher, the same subscriber

The load comes from bench/durable_load.cpp (durable_load_bench, one thread, Boost.Asio): the subscriber is
online and acknowledges every message; each publisher keeps up to --window PUBLISHes awaiting PUBACK, and all
of them together pause while --outstanding messages are published but not yet delivered, so the broker's
queue for the subscriber stays bounded and the rate is one the broker sustains end to end.
After --warmup seconds the rate of messages delivered to the subscriber is measured for --seconds, with the
broker's own CPU time (utime + stime of all its threads, from /proc/PID/stat: the commit thread and RocksDB's
threads included, the load generator excluded) over the same window. Each case runs --rounds times,
interleaved; the table shows the median round by rate.

Brokers, with their default limits (max_inflight 20; mqttd: one worker per core) except max_queued_messages,
100,000 for both: Mosquitto 2.0 counts a message against that limit until it has processed the subscriber's
PUBACK, and falls hundreds of PUBACKs behind while it reads eight publishers, so at its default (1,000) it
drops messages ("Outgoing messages are being dropped") even with fewer than 500 undelivered ones; the lost column
shows any message an acknowledged publish did not bring to the subscriber.

    mqttd batch      persistence on, sync batch (the default): PUBACK after the group fsync
    mqttd periodic   sync periodic (1 s): acknowledged before the write is durable
    mqttd none       sync none: written, never fsynced by mqttd
    mqttd memory     persistence.enabled false: the memory engine, nothing survives a restart
    mosquitto        /usr/sbin/mosquitto, persistence false

    /usr/bin/python3 bench/durable_throughput.py --mqttd build-bench/broker/mqttd \\
        --load build-bench/bench/durable_load_bench [--seconds 5] [--warmup 2] [--rounds 3]

Build both with cmake -B build-bench -DCMAKE_BUILD_TYPE=Release -DMQTTD_BUILD_BENCH=ON -DMQTTD_BUILD_TESTS=OFF
and cmake --build build-bench --target mqttd durable_load_bench. The broker and the load generator share this
machine's cores; the table says how many there were.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: starts and stops mqttd and mosquitto)

TICKS = os.sysconf("SC_CLK_TCK")

BROKERS = [
    ("mqttd batch", {"persistence": {"sync": "batch"}}),
    ("mqttd periodic", {"persistence": {"sync": "periodic", "sync_interval_ms": 1000}}),
    ("mqttd none", {"persistence": {"sync": "none"}}),
    ("mqttd memory", {"persistence": {"enabled": False}}),
    ("mosquitto", None),
]
SCENARIOS = [("8 -> 1", 8), ("1 -> 1", 1)]
MAX_QUEUED = 100000


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads


def start(name, settings, mqttd, folder):
    if settings is None:
        return broker.start_mosquitto(folder, settings=["max_queued_messages %d" % MAX_QUEUED])
    # info: the port mqttd picked is in its event=listening line (one more line per connection).
    config = {"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 0}], "log_level": "info",
              "max_queued_messages": MAX_QUEUED}
    config.update(settings)
    return broker.start_mqttd(mqttd, config, folder)


def measure(b, load, publishers, args, round_number):
    """One run of the load generator against broker b: (messages/s, broker CPU µs per message, broker CPU
    share of one core, the summary line's fields)."""
    command = [load, "-p", str(b.ports[0]), "--publishers", str(publishers), "--seconds", str(args.seconds),
               "--warmup", str(args.warmup), "--window", str(args.window), "--outstanding", str(args.outstanding),
               "--payload", str(args.payload), "--client-id", f"bench-sub-{round_number}"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=broker.die_with_parent)
    marks = {}
    summary = None
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("event=measure_"):
            marks[line] = (cpu_seconds(b.pid), time.monotonic())
        elif line.startswith("delivered_per_s="):
            summary = dict(field.split("=", 1) for field in line.split())
    err = proc.stderr.read()
    code = proc.wait(timeout=60)
    if summary is None or len(marks) != 2:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {err.strip()}\n{b.log_tail(20)}")
    (cpu0, wall0), (cpu1, wall1) = marks["event=measure_start"], marks["event=measure_end"]
    delivered = int(summary["delivered"])
    return (float(summary["delivered_per_s"]), (cpu1 - cpu0) / max(delivered, 1) * 1e6,
            (cpu1 - cpu0) / (wall1 - wall0), summary)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqttd", required=True)
    parser.add_argument("--load", required=True, help="durable_load_bench")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--outstanding", type=int, default=1000,
                        help="messages published but not yet delivered, at most")
    parser.add_argument("--payload", type=int, default=64)
    parser.add_argument("--dir", help="where the brokers' directories and stores go (default: a new temporary "
                                      "directory under /tmp, removed at the end)")
    args = parser.parse_args()
    # The brokers run in directories of their own: relative paths would not resolve there.
    args.mqttd, args.load = os.path.abspath(args.mqttd), os.path.abspath(args.load)
    if not os.access("/usr/sbin/mosquitto", os.X_OK):
        sys.exit("needs Debian's mosquitto (apt-get install mosquitto)")

    folder = tempfile.mkdtemp(prefix="mqttd-durable-bench-", dir=args.dir)
    results = {}
    try:
        for round_number in range(1, args.rounds + 1):
            for scenario, publishers in SCENARIOS:
                for name, settings in BROKERS:
                    b = start(name, settings, args.mqttd, folder)
                    try:
                        r = measure(b, args.load, publishers, args, round_number)
                    finally:
                        b.stop()
                        shutil.rmtree(b.dir, ignore_errors=True)
                    results.setdefault((scenario, name), []).append(r)
                    print(f"round {round_number} {scenario} {name}: {r[0]:.0f} msg/s, {r[1]:.1f} µs CPU/msg, "
                          f"lost {r[3]['lost']}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"QoS 1, {args.payload}-byte payloads, to one persistent subscriber (online, acknowledging); "
          f"{args.seconds:g} s measured after {args.warmup:g} s, median of {args.rounds} rounds; "
          f"{os.cpu_count()} cores shared by broker and load generator")
    print(f"{'scenario':<9}{'broker':<16}{'msg/s':>9}{'CPU µs/msg':>12}{'CPU cores':>11}{'vs memory':>11}"
          f"{'lost':>6}{'dup':>6}")
    medians = {}
    for scenario, _ in SCENARIOS:
        for name, _ in BROKERS:
            runs = sorted(results[(scenario, name)], key=lambda r: r[0])
            medians[(scenario, name)] = runs[len(runs) // 2]
        memory = medians[(scenario, "mqttd memory")][0]
        for name, _ in BROKERS:
            rate, cpu, share, summary = medians[(scenario, name)]
            lost = sum(int(r[3]["lost"]) for r in results[(scenario, name)])
            dup = sum(int(r[3]["duplicates"]) for r in results[(scenario, name)])
            print(f"{scenario:<9}{name:<16}{rate:>9.0f}{cpu:>12.1f}{share:>11.2f}{rate / memory:>11.2f}"
                  f"{lost:>6}{dup:>6}")
    print()
    for scenario, _ in SCENARIOS:
        batch = medians[(scenario, "mqttd batch")][0]
        memory = medians[(scenario, "mqttd memory")][0]
        mosquitto = medians[(scenario, "mosquitto")][0]
        spread = statistics.pstdev(r[0] for r in results[(scenario, "mqttd batch")]) / batch
        print(f"{scenario}: mqttd batch / mqttd memory = {batch / memory:.2f} (target >= 0.5); "
              f"mqttd batch / mosquitto = {batch / mosquitto:.2f} (target >= 2 on 8 -> 1); "
              f"batch rounds spread {spread * 100:.0f}%")


if __name__ == "__main__":
    main()
