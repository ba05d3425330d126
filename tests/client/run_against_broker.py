#!/usr/bin/python3
"""Runs one client command against a fresh broker on loopback.

    run_against_broker.py (--broker PATH | --mosquitto) -- COMMAND ARGS...

Every `{port}` in COMMAND ARGS becomes the broker's port (mqttd binds port 0 and logs the port it got; see
tests/harness/broker.py). Exits with the command's status; prints the broker's log when the command fails.
Standard library only (run with /usr/bin/python3).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py)

COMMAND_TIMEOUT_S = 120


def start(args, directory):
    if args.mosquitto:
        return broker.start_mosquitto(directory, settings=["log_type all"])
    config = {"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 0}], "threads": 2, "log_level": "debug"}
    return broker.start_mqttd(os.path.abspath(args.broker), config, directory)


def print_log(b):
    print("---- broker log ----\n" + b.log_text() + "---- end of broker log ----", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--broker", help="path to the mqttd binary")
    which.add_argument("--mosquitto", action="store_true", help=f"use {broker.MOSQUITTO} instead")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS ({port} is substituted)")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("missing command after --")

    with tempfile.TemporaryDirectory(prefix="mqttd-client-") as directory:
        try:
            b = start(args, directory)
        except (AssertionError, OSError) as e:   # the message ends with the broker's log, if it ran
            print(f"broker did not start: {e}", file=sys.stderr)
            return 2
        try:
            client = [word.replace("{port}", str(b.ports[0])) for word in command]
            print("+ " + " ".join(client), flush=True)
            try:
                status = subprocess.run(client, timeout=COMMAND_TIMEOUT_S).returncode
            except subprocess.TimeoutExpired:
                print(f"client did not finish within {COMMAND_TIMEOUT_S}s", file=sys.stderr)
                status = 1
        finally:
            b.stop()
        if b.returncode not in (0, -signal.SIGTERM):
            print(f"broker exited with status {b.returncode}", file=sys.stderr)
            status = status or 1
        if status != 0:
            print_log(b)
        return status


if __name__ == "__main__":
    sys.exit(main())
