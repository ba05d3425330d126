"""Starts, watches and stops the broker under test, for every test suite and the benchmark.

mqttd: every listener is given port 0, so the kernel picks a free port when mqttd binds it, and the port is
read back from mqttd's own log. It logs one line per listener, in the order of the `listeners` array, then
`event=started`:

    2026-11-23T14:00:00.123Z level=info event=listening type=tcp addr=127.0.0.1:40123
    2026-11-23T14:00:00.124Z level=info event=listening type=ws addr=[::1]:40125 path=/mqtt
    2026-11-23T14:00:00.124Z level=info event=started workers=2 listeners=2

No port is chosen before the broker binds it, so tests run in parallel (ctest -j) cannot race for one.

Debian's mosquitto: `listener 0` makes it open a unix socket, not a TCP port, so its ports are chosen here with
free_ports(); another process can take one between that choice and mosquitto's bind, so a start that fails
with "Address already in use" is retried with new ports.

Either way the process is stopped by its PID only (SIGTERM, then SIGKILL after a grace period), gets SIGKILL if
the test process dies, and writes its log to broker.log in its own directory, which the test can read, search
and wait on. kill() is a crash (SIGKILL); restart() starts mqttd again in the same directory, so on the same
store. Standard library only. From a suite directory:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
    import broker
"""

import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT = 10.0          # seconds a broker has to report its listeners
STOP_GRACE = 5.0              # seconds between SIGTERM and SIGKILL
BIND_ATTEMPTS = 3             # mosquitto starts tried before giving up on "Address already in use"

_LISTENING = re.compile(r" event=listening type=(\S+) addr=(\S+)")
_STARTED = re.compile(r" event=started .*\blisteners=(\d+)")


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the process that started it dies, so no broker or client
    outlives a killed test. (Strictly, when the starting *thread* exits: start brokers from the main thread.)"""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def wait_until(predicate, timeout, interval=0.02):
    """Polls predicate until it is true or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def free_ports(count, host="127.0.0.1"):
    """count distinct ports free right now, for mosquitto only (mqttd binds port 0 itself). The sockets stay
    open until all are chosen, so the kernel cannot hand out one port twice."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets = [socket.socket(family, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def find_passwd(explicit=None, broker_binary=None):
    """mqttd-passwd: the path given, else the one built beside the broker (<build>/auth/mqttd-passwd for
    <build>/broker/mqttd, or the same directory); None when there is none (tests that need it skip)."""
    if explicit:
        return os.path.abspath(explicit)
    if broker_binary:
        here = os.path.dirname(os.path.abspath(broker_binary))
        for candidate in (os.path.join(here, "..", "auth", "mqttd-passwd"), os.path.join(here, "mqttd-passwd")):
            if os.access(candidate, os.X_OK):
                return os.path.normpath(candidate)
    return None


def parse_address(addr):
    """Splits "127.0.0.1:40123" or "[::1]:40123" into (host, port)."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class BrokerProcess:
    """One broker process: its log, the address of each listener, stopped by PID only.

    Made by BrokerProcess.start_mqttd() or BrokerProcess.start_mosquitto() (also module functions)."""

    def __init__(self, kind, command, directory, config_path):
        self.kind = kind                      # "mqttd" or "mosquitto"
        self.command = command
        self.dir = directory
        self.config_path = config_path
        self.log_path = os.path.join(directory, "broker.log")
        self.listeners = []                   # (type, host, port) per listener, in configuration order
        self.proc = None
        self.returncode = None
        self._lines = []                      # the log, read so far
        self._offset = 0
        self._partial = b""

    @property
    def ports(self):
        return [port for _, _, port in self.listeners]

    @property
    def pid(self):
        return self.proc.pid

    # ---------------------------------------------------------------------------------------- starting

    @classmethod
    def start_mqttd(cls, binary, config, parent_dir, timeout=START_TIMEOUT):
        """Starts mqttd on config: a dict (written as JSON) or JSON text, whose listener ports should be 0.
        Returns once mqttd logged event=started; fails with the log tail if it exits or times out first."""
        directory = tempfile.mkdtemp(prefix="mqttd-", dir=parent_dir)
        config_path = os.path.join(directory, "mqttd.json")
        with open(config_path, "w") as f:
            f.write(config if isinstance(config, str) else json.dumps(config, indent=2) + "\n")
        b = cls("mqttd", [binary, "-c", config_path], directory, config_path)
        b._spawn()
        try:
            b._await_mqttd_started(0, timeout)
        except BaseException:
            b.stop()
            raise
        return b

    def _await_mqttd_started(self, first_line, timeout):
        """Waits for the event=started of the process whose log begins at line first_line, and reads its
        listeners (one event=listening line each) from the lines after first_line."""
        def started_lines():
            return [line for line in self._read_log()[first_line:] if " event=started " in line]
        wait_until(lambda: started_lines() or not self.is_running(), timeout)
        found = started_lines()
        if not found:
            state = ("it exited with status %s" % self.proc.poll() if not self.is_running()
                     else "waited %.1f s" % timeout)
            raise AssertionError("mqttd logged no 'event=started' (%s)\n%s" % (state, self.log_tail()))
        lines = self._read_log()[first_line:]
        self.listeners = [(m.group(1),) + parse_address(m.group(2))
                          for m in map(_LISTENING.search, lines[:lines.index(found[0])]) if m]
        expected = int(_STARTED.search(found[0]).group(1))
        if len(self.listeners) != expected:
            raise AssertionError("mqttd logged %d event=listening lines before %r\n%s"
                                 % (len(self.listeners), found[0], self.log_tail()))

    def restart(self, timeout=START_TIMEOUT):
        """Starts mqttd again with the same command in the same directory, so it finds the same store (its
        default persistence.dir, data/, is beside the config file) after a kill() or stop(). Its log goes on
        in the same broker.log; the listeners (new ports) are read from the new process's lines. Returns once
        it logged event=started; fails with the log tail if it exits or times out first."""
        if self.kind != "mqttd":
            raise AssertionError("restart() is for mqttd only")
        if self.is_running():
            raise AssertionError("restart(): the broker (pid %d) is still running; kill() or stop() it first"
                                 % self.proc.pid)
        self._read_log()
        if self._partial:                     # a line cut short by kill(): end it, so the next one is whole
            with open(self.log_path, "ab") as log:
                log.write(b"\n")
        first_line = len(self._read_log())
        self.returncode = None
        self._spawn()
        try:
            self._await_mqttd_started(first_line, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @classmethod
    def start_mosquitto(cls, parent_dir, listeners=((),), settings=(), timeout=START_TIMEOUT):
        """Starts /usr/sbin/mosquitto with one `listener PORT 127.0.0.1` per entry of listeners (each entry: the
        lines that follow it, e.g. ["protocol websockets"]) and the global settings lines. Returns once it
        logged "running"; a start that lost a port to another process is retried with new ports."""
        for attempt in range(1, BIND_ATTEMPTS + 1):
            directory = tempfile.mkdtemp(prefix="mosquitto-", dir=parent_dir)
            config_path = os.path.join(directory, "mosquitto.conf")
            ports = free_ports(len(listeners))
            # per_listener_settings must come before every security setting (mosquitto refuses to start).
            # user root: started as root, mosquitto would otherwise switch to user "mosquitto".
            # allow_anonymous: mosquitto 2.0 refuses anonymous clients once a listener is configured.
            first = [s for s in settings if s.startswith("per_listener_settings")]
            lines = first + ["user root", "allow_anonymous true", "persistence false", "log_dest stderr"]
            lines += [s for s in settings if s not in first]
            for port, extra in zip(ports, listeners):
                lines += ["listener %d 127.0.0.1" % port] + list(extra)
            with open(config_path, "w") as f:
                f.write("\n".join(lines) + "\n")
            b = cls("mosquitto", [MOSQUITTO, "-c", config_path], directory, config_path)
            b.listeners = [(None, "127.0.0.1", port) for port in ports]      # listener types: see the config
            b._spawn()
            try:
                b.wait_log("mosquitto version", " running", timeout=timeout)
                return b
            except AssertionError:
                b.stop()
                if attempt == BIND_ATTEMPTS or "Address already in use" not in b.log_text():
                    raise

    @classmethod
    def run_mqttd_once(cls, binary, config, parent_dir, timeout=START_TIMEOUT):
        """Runs mqttd on config until it exits, for start-up failures. Returns (exit status, log text); the
        status is None when mqttd was still running after timeout (it is then stopped)."""
        directory = tempfile.mkdtemp(prefix="mqttd-once-", dir=parent_dir)
        config_path = os.path.join(directory, "mqttd.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=2)
        b = cls("mqttd", [binary, "-c", config_path], directory, config_path)
        b._spawn()
        code = b.wait_exit(timeout)
        if code is None:
            b.stop()
        return code, b.log_text()

    def _spawn(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=die_with_parent, cwd=self.dir)

    # ----------------------------------------------------------------------------------- process state

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        """The exit status, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, signum):
        os.kill(self.proc.pid, signum)

    def kill(self):
        """SIGKILL, a crash: the process flushes nothing. Returns the exit status (-9)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode if self.proc is not None else None
        return self.returncode

    def stop(self, grace=STOP_GRACE):
        """SIGTERM, wait up to grace seconds, then SIGKILL. Returns the exit status (negative: the signal)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.returncode = self.proc.returncode
        return self.returncode

    # ---------------------------------------------------------------------------------------------- log

    def _read_log(self):
        """Every complete line so far; reads only what was appended since the last call."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return self._lines
        self._offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self._lines += [line.decode("utf-8", "replace") for line in complete]
        return self._lines

    def log_text(self):
        lines = self._read_log()
        return "\n".join(lines + [self._partial.decode("utf-8", "replace")])

    def log_lines(self, *needles):
        """Log lines containing every needle."""
        return [line for line in self._read_log() if all(n in line for n in needles)]

    def log_count(self, *needles):
        return len(self.log_lines(*needles))

    def wait_log(self, *needles, timeout=5.0, count=1):
        """Waits until count log lines contain every needle and returns them all; fails with the log tail
        when timeout passes or the broker exits first."""
        def enough():
            exited = not self.is_running()        # checked before reading, so no last line is missed
            return len(self.log_lines(*needles)) >= count or exited
        wait_until(enough, timeout)
        found = self.log_lines(*needles)
        if len(found) < count:
            state = ("it exited with status %s" % self.proc.poll() if not self.is_running()
                     else "waited %.1f s" % timeout)
            raise AssertionError("%s logged %d of the %d line(s) with %s awaited (%s)\n%s"
                                 % (self.kind, len(found), count, " and ".join(repr(n) for n in needles), state,
                                    self.log_tail()))
        return found

    def log_tail(self, lines=80):
        text = self.log_text().splitlines()
        head = "--- %s log %s (last %d of %d lines) ---" % (self.kind, self.log_path, min(lines, len(text)),
                                                           len(text))
        return "\n".join([head] + text[-lines:])


start_mqttd = BrokerProcess.start_mqttd
start_mosquitto = BrokerProcess.start_mosquitto
run_mqttd_once = BrokerProcess.run_mqttd_once


class LogTailResult(unittest.TextTestResult):
    """A test result that remembers which tests failed (a failing subTest included), so that the runner can
    print the log tail of each failed test's brokers (the test's `brokers` list) after the summary."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failed_tests = []

    def getDescription(self, test):
        case = getattr(test, "test_case", None)      # a subTest: its test method, then what it was given
        if case is not None:
            return "%s %s" % (case.id().split(".")[-1], test._subDescription())
        return test.id().split(".")[-1]

    def _failed(self, test):
        test = getattr(test, "test_case", test)
        if test not in self.failed_tests:
            self.failed_tests.append(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._failed(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._failed(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._failed(test)

    def print_broker_logs(self):
        for test in self.failed_tests:
            for b in getattr(test, "brokers", []):
                print("\n%s: %s" % (test.id(), b.log_tail()))
        sys.stdout.flush()
