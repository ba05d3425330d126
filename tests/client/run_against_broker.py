#!/usr/bin/python3
"""Runs one client command against a fresh broker on a free loopback port.

    run_against_broker.py (--broker PATH | --mosquitto) -- COMMAND ARGS...

Every `{port}` in COMMAND ARGS becomes the broker's port. Exits with the command's status; prints the broker's
log when the command fails. Standard library only (run with /usr/bin/python3).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 5
COMMAND_TIMEOUT_S = 120


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory, port, use_mosquitto):
    if use_mosquitto:
        path = os.path.join(directory, "mosquitto.conf")
        with open(path, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\n"
                    "log_type all\n")
    else:
        path = os.path.join(directory, "mqttd.json")
        config = {"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": port}],
                  "threads": 2, "log_level": "debug"}
        with open(path, "w") as f:
            json.dump(config, f)
    return path


def wait_until_accepting(port, broker):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if broker.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(broker):
    if broker.poll() is not None:
        return
    broker.send_signal(signal.SIGTERM)
    try:
        broker.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"broker pid {broker.pid} ignored SIGTERM for {STOP_TIMEOUT_S}s: SIGKILL", file=sys.stderr)
        broker.kill()
        broker.wait()


def print_log(log_path):
    with open(log_path, errors="replace") as f:
        text = f.read()
    print("---- broker log ----\n" + text + "---- end of broker log ----", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--broker", help="path to the mqttd binary")
    which.add_argument("--mosquitto", action="store_true", help=f"use {MOSQUITTO} instead")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS ({port} is substituted)")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("missing command after --")

    with tempfile.TemporaryDirectory(prefix="mqttd-client-") as directory:
        port = free_port()
        config = write_config(directory, port, args.mosquitto)
        broker_command = [MOSQUITTO if args.mosquitto else args.broker, "-c", config]
        log_path = os.path.join(directory, "broker.log")
        with open(log_path, "w") as log:
            broker = subprocess.Popen(broker_command, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not wait_until_accepting(port, broker):
                status = broker.poll()
                state = (f"exited with {status}" if status is not None
                         else f"not accepting after {START_TIMEOUT_S}s")
                print(f"broker {' '.join(broker_command)}: {state}", file=sys.stderr)
                print_log(log_path)
                return 2
            client = [word.replace("{port}", str(port)) for word in command]
            print("+ " + " ".join(client), flush=True)
            try:
                status = subprocess.run(client, timeout=COMMAND_TIMEOUT_S).returncode
            except subprocess.TimeoutExpired:
                print(f"client did not finish within {COMMAND_TIMEOUT_S}s", file=sys.stderr)
                status = 1
        finally:
            stop(broker)
        if broker.returncode not in (0, -signal.SIGTERM):
            print(f"broker exited with status {broker.returncode}", file=sys.stderr)
            status = status or 1
        if status != 0:
            print_log(log_path)
        return status


if __name__ == "__main__":
    sys.exit(main())
