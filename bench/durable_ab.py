#!/usr/bin/python3
"""Two (or more) mqttd builds side by side in one sync mode of durable storage: the A/B each storage change of
issue 9 was kept by. The load is durable_throughput.py's (bench/durable_load.cpp: QoS 1 to one persistent
subscriber); each round starts every build in turn, with a fresh store, and prints its rate and broker CPU µs
per delivered message; the medians per build and scenario come last. CPU per message is the steadier figure on
this shared machine; rates swing ±20 % between identical runs.

    /usr/bin/python3 bench/durable_ab.py --builds OLD/broker/mqttd,build-bench/broker/mqttd \\
        --load build-bench/bench/durable_load_bench [--sync batch] [--publishers 8,1] [--rounds 3]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from durable_throughput import measure, start  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", required=True, help="comma-separated mqttd binaries")
    parser.add_argument("--load", required=True, help="durable_load_bench")
    parser.add_argument("--sync", default="batch", choices=["batch", "periodic", "none", "memory"])
    parser.add_argument("--publishers", default="8,1", help="comma-separated publisher counts (scenarios)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--outstanding", type=int, default=1000)
    parser.add_argument("--payload", type=int, default=64)
    args = parser.parse_args()
    builds = [os.path.abspath(b) for b in args.builds.split(",")]
    args.load = os.path.abspath(args.load)
    settings = ({"persistence": {"enabled": False}} if args.sync == "memory"
                else {"persistence": {"sync": args.sync, "sync_interval_ms": 1000}})

    folder = tempfile.mkdtemp(prefix="mqttd-durable-ab-")
    results = {}
    try:
        for round_number in range(1, args.rounds + 1):
            for publishers in (int(p) for p in args.publishers.split(",")):
                for build in builds:
                    b = start(build, settings, build, folder)
                    try:
                        rate, cpu, _, summary = measure(b, args.load, publishers, args, round_number)
                    finally:
                        b.stop()
                        shutil.rmtree(b.dir, ignore_errors=True)
                    if summary["lost"] != "0":
                        sys.exit(f"{build} lost {summary['lost']} acknowledged messages")
                    results.setdefault((publishers, build), []).append((rate, cpu))
                    print(f"round {round_number} {publishers} -> 1 {build}: {rate:.0f} msg/s, {cpu:.1f} µs CPU/msg",
                          flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"\nsync {args.sync}, median of {args.rounds} rounds")
    print(f"{'scenario':<10}{'msg/s':>9}{'CPU µs/msg':>12}  build")
    for (publishers, build), runs in results.items():
        rate = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{publishers} -> 1{'':<4}{rate:>9.0f}{cpu:>12.1f}  {build}")


if __name__ == "__main__":
    main()
