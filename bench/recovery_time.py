#!/usr/bin/python3
"""How long mqttd takes to start on a large store: 1,000,000 retained messages and 100,000 persistent sessions
with 10 queued messages each (the target: listening in under 10 s).

1. Fills a store with bench/storage_recovery.cpp (storage_recovery_bench, the storage engine alone, no
   broker), unless DIR already holds one. That program then times the engine's own open() + recover() three
   times; its lines are printed as they are.
2. Starts mqttd on the store RUNS times (SIGTERM in between) and reports, per start: the time from the
   process's start to its event=listening line, the duration_ms it logs in event=recovered (reading the store
   and restoring the retained messages, the sessions and their subscriptions), the counts it logged, its RSS
   once listening (VmRSS, and VmHWM, the peak, from /proc/PID/status) and how long the SIGTERM stop took.
   The first start is the one after the fill; with --cold the page cache is dropped before each start
   (needs root and a writable /proc/sys/vm/drop_caches).

    /usr/bin/python3 bench/recovery_time.py --mqttd build-bench/broker/mqttd \\
        --fill build-bench/bench/storage_recovery_bench [--dir /tmp/mqttd-recovery-store] [--runs 3] [--cold]
        [--retained 1000000] [--sessions 100000] [--entries 10] [--keep]

The store is removed at the end unless --keep is given (or DIR held a store before). Build with
cmake -B build-bench -DCMAKE_BUILD_TYPE=Release -DMQTTD_BUILD_BENCH=ON -DMQTTD_BUILD_TESTS=OFF and
cmake --build build-bench --target mqttd storage_recovery_bench.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py: die_with_parent)

RECOVERED = re.compile(r"event=recovered .*retained=(\d+) sessions=(\d+) queued=(\d+) messages=(\d+) "
                       r"duration_ms=(\d+)")
TARGET_SECONDS = 10.0


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def drop_caches():
    subprocess.run(["sync"], check=True)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError as e:
        print(f"cannot drop the page cache ({e}): the starts are warm", file=sys.stderr)
        return False


def fill(fill_binary, store, retained, sessions, entries):
    env = dict(os.environ, MQTTD_BENCH_KEEP="1")
    command = [fill_binary, store, str(retained), str(sessions), str(entries)]
    print("$ MQTTD_BENCH_KEEP=1 " + " ".join(command), flush=True)
    started = time.monotonic()
    subprocess.run(command, env=env, check=True, preexec_fn=broker.die_with_parent)
    print(f"(fill and engine timings took {time.monotonic() - started:.0f} s)", flush=True)


def start_once(mqttd, config_path, timeout):
    """One start: (seconds to event=listening, the event=recovered fields, VmRSS kB, VmHWM kB, stop seconds,
    the log lines)."""
    lines = []
    listening = threading.Event()
    started = time.monotonic()
    proc = subprocess.Popen([mqttd, "-c", config_path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=broker.die_with_parent)
    listened_at = []

    def read():
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if " event=listening " in line and not listened_at:
                listened_at.append(time.monotonic())
                listening.set()
        listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not listening.wait(timeout) or not listened_at:
            raise RuntimeError("mqttd did not log event=listening within %.0f s (exit status %s):\n%s"
                               % (timeout, proc.poll(), "\n".join(lines[-20:])))
        to_listening = listened_at[0] - started
        rss, hwm = status_kib(proc.pid, "VmRSS"), status_kib(proc.pid, "VmHWM")
        stop_started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        stop_seconds = time.monotonic() - stop_started
        reader.join(5)
        if code != 0:
            raise RuntimeError("mqttd exited %d after SIGTERM:\n%s" % (code, "\n".join(lines[-20:])))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    found = [RECOVERED.search(line) for line in lines]
    found = [m for m in found if m]
    if not found:
        raise RuntimeError("no event=recovered line:\n" + "\n".join(lines[-20:]))
    return to_listening, tuple(int(x) for x in found[0].groups()), rss, hwm, stop_seconds, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqttd", required=True)
    parser.add_argument("--fill", help="storage_recovery_bench (needed unless --dir holds a store)")
    parser.add_argument("--dir", help="the store (default: a new directory under /tmp)")
    parser.add_argument("--retained", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=10, help="queued messages per session")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each start")
    parser.add_argument("--keep", action="store_true", help="keep the store")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="mqttd-recovery-bench-")
    store = os.path.abspath(args.dir) if args.dir else os.path.join(work, "store")
    had_store = os.path.exists(os.path.join(store, "CURRENT"))
    try:
        if not had_store:
            if not args.fill:
                sys.exit("--fill is needed to fill a new store")
            fill(args.fill, store, args.retained, args.sessions, args.entries)
        size = sum(os.path.getsize(os.path.join(store, f)) for f in os.listdir(store))
        config_path = os.path.join(work, "mqttd.json")
        with open(config_path, "w") as f:
            json.dump({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 0}], "log_level": "info",
                       "persistence": {"dir": store}}, f)

        rows = []
        for run in range(1, args.runs + 1):
            cold = args.cold and drop_caches()
            to_listening, counts, rss, hwm, stop_seconds, lines = start_once(args.mqttd, config_path, args.timeout)
            rows.append((run, cold, to_listening, counts, rss, hwm, stop_seconds))
            notes = [line for line in lines if "event=storage_note" in line]
            print(f"start {run}: listening after {to_listening:.2f} s; {len(notes)} storage notes", flush=True)

        print()
        print(f"store: {store}, {size / (1 << 20):.0f} MiB; {os.cpu_count()} cores")
        print(f"{'start':<7}{'cache':<7}{'to listening s':>15}{'recovered ms':>14}{'retained':>10}{'sessions':>10}"
              f"{'queued':>9}{'bodies':>9}{'RSS MiB':>9}{'peak MiB':>10}{'stop s':>8}")
        for run, cold, to_listening, counts, rss, hwm, stop_seconds in rows:
            retained, sessions, queued, messages, duration_ms = counts
            print(f"{run:<7}{'cold' if cold else 'warm':<7}{to_listening:>15.2f}{duration_ms:>14}{retained:>10}"
                  f"{sessions:>10}{queued:>9}{messages:>9}{rss / 1024:>9.0f}{hwm / 1024:>10.0f}{stop_seconds:>8.2f}")
        worst = max(r[2] for r in rows)
        print(f"\nslowest start to listening: {worst:.2f} s (target < {TARGET_SECONDS:.0f} s)")
        expected = (args.retained, args.sessions, args.sessions * args.entries)
        if not had_store and any(r[3][:3] != expected for r in rows):
            print(f"warning: mqttd read back other counts than were filled {expected}")
    finally:
        if not args.keep and not had_store:
            shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
