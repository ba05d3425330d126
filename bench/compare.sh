#!/bin/bash
# mqttd beside Debian's Mosquitto with the same load generator and the same limits, several rounds in one run,
# on loopback only; prints tables of medians and mqttd/Mosquitto ratios (bench/compare.py has the details).
#
#   bench/compare.sh [--build] [--mqttd PATH] [--bench PATH] [--scenarios "fanin:qos=1 ..."] [--rounds 3]
#                    [--seconds 5] [--warmup 1] [--threads 0] [--plots]
#
# Needs Debian's mosquitto (apt-get install mosquitto), and gnuplot-nox for --plots. Builds nothing unless
# --build is given, which runs (from the repository root):
#   cmake -B build-bench -DCMAKE_BUILD_TYPE=Release -DMQTTD_BUILD_BENCH=ON -DMQTTD_BUILD_TESTS=OFF
#   cmake --build build-bench --target mqttd mqttd-bench
# The defaults for --mqttd and --bench are what that builds: build-bench/broker/mqttd and
# build-bench/bench/mqttd-bench. Every broker and generator it starts is stopped by its PID, and dies with it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mqttd="$root/build-bench/broker/mqttd"
bench="$root/build-bench/bench/mqttd-bench"
build=0
rest=()
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=1; shift ;;
        --mqttd) mqttd=$2; shift 2 ;;
        --bench) bench=$2; shift 2 ;;
        -h|--help) exec /usr/bin/python3 "$root/bench/compare.py" --help ;;
        *) rest+=("$1"); shift ;;
    esac
done

if [ "$build" = 1 ]; then
    cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release -DMQTTD_BUILD_BENCH=ON -DMQTTD_BUILD_TESTS=OFF
    cmake --build "$root/build-bench" --target mqttd mqttd-bench
fi

# Debian's Python (python3 on PATH may be another one); the harness needs only the standard library.
exec /usr/bin/python3 "$root/bench/compare.py" --mqttd "$mqttd" --bench "$bench" ${rest[@]+"${rest[@]}"}
