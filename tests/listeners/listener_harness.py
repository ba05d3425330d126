"""Listener-test harness: TLS, WebSocket and IPv6 listeners of a real mqttd, driven by real clients.

Each test file is a standalone script built on this module:

    /usr/bin/python3 tests/listeners/01-tls-mosquitto-clients.py --broker build/broker/mqttd
    /usr/bin/python3 tests/listeners/01-tls-mosquitto-clients.py --broker build/broker/mqttd -k will

Exit status: 0 pass, 77 every test skipped (ctest SKIP_RETURN_CODE), 1 failure, 2 bad command line.

What it gives a test (a subclass of ListenerTestCase):
- self.pki: certificates made at test time with the openssl command line in a temporary directory (pki.py: a
  CA, a server certificate for localhost/127.0.0.1/::1, a client certificate CN=device-42, a second unrelated
  CA; encrypt_key() for an encrypted key and its passphrase file). No private key is ever committed.
- self.start_broker(listeners, **top_level): mqttd (tests/harness/broker.py) with every listener on port 0,
  broker.port(i) being the port it bound for listeners[i]; stopped by PID (SIGTERM, then SIGKILL after 5 s)
  when the test ends; its log is printed when the test fails.
- mosquitto_pub() and MosquittoSub: the command-line clients, always bounded by timeouts.
- PahoClient: paho.mqtt.client over tcp, tls, ws or wss with thread-safe message queues.
- http_upgrade() and RawWebSocket (raw_websocket.py): the upgrade request and RFC 6455 frames over a plain
  socket, where the test chooses every byte.

Only the standard library and paho (Debian python3-paho-mqtt, so run under /usr/bin/python3). Waits are for an
event with a bound; negative checks ("X must not arrive") wait for a later marker.
"""

import argparse
import atexit
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import paho.mqtt.client as paho
except ImportError:  # reported by main()
    paho = None

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import broker  # noqa: E402  (tests/harness/broker.py)

# Re-exported, so a test file needs only `import listener_harness as h`.
from broker import die_with_parent, wait_until  # noqa: E402,F401
from pki import OPENSSL, Pki, StandardPki  # noqa: E402,F401
from raw_websocket import (CONNACK_ACCEPTED, DISCONNECT, OP_BINARY, OP_CLOSE, OP_CONTINUATION,  # noqa: E402,F401
                           OP_PING, OP_PONG, OP_TEXT, ConnectionClosed, HttpResponse, RawWebSocket,
                           connect_packet, http_upgrade, mqtt_packet, publish_packet, suback_packet,
                           subscribe_packet)

SKIP_EXIT = 77
TEST_TIME_LIMIT = 40          # seconds per test method, enforced with SIGALRM
CLIENT_TIMEOUT = 10           # seconds any one command-line client may run
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
STDBUF = shutil.which("stdbuf") or "/usr/bin/stdbuf"


class Options:
    broker = None
    passwd = None     # mqttd-passwd: --passwd, or found next to --broker; None when there is none


OPTIONS = Options()
_base_dir = None


def base_dir():
    global _base_dir
    if _base_dir is None:
        _base_dir = tempfile.mkdtemp(prefix="mqttd-listeners-")
    return _base_dir


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False

# ------------------------------------------------------------------------------------------------ broker

class BrokerProcess(broker.BrokerProcess):
    """One mqttd process (tests/harness/broker.py), stopped by its PID only."""

    def port(self, index):
        """The port mqttd bound for listeners[index] (every listener is configured with port 0)."""
        return self.ports[index]


def start_mqttd(listeners, top_level=None):
    config = {"listeners": listeners, "threads": 2, "log_level": "debug"}
    config.update(top_level or {})
    return BrokerProcess.start_mqttd(OPTIONS.broker, config, base_dir())


def tcp_listener(bind="127.0.0.1"):
    return {"type": "tcp", "bind": bind, "port": 0}


def tls_listener(pki, bind="127.0.0.1", **options):
    listener = {"type": "tls", "bind": bind, "port": 0, "cert_file": pki.server[0], "key_file": pki.server[1]}
    listener.update(options)
    return listener


def ws_listener(bind="127.0.0.1", path="/mqtt", **options):
    listener = {"type": "ws", "bind": bind, "port": 0, "path": path}
    listener.update(options)
    return listener


def wss_listener(pki, bind="127.0.0.1", path="/mqtt", **options):
    listener = {"type": "wss", "bind": bind, "port": 0, "path": path,
                "cert_file": pki.server[0], "key_file": pki.server[1]}
    listener.update(options)
    return listener


def run_mqttd_once(config, timeout=10.0):
    """Runs mqttd with config (a dict) until it exits; returns (exit status, output). For start-up failures."""
    return BrokerProcess.run_mqttd_once(OPTIONS.broker, config, base_dir(), timeout)


# ---------------------------------------------------------------------------------- command-line clients

def tls_args(cafile=None, cert=None, key=None, tls_version=None):
    args = []
    if cafile:
        args += ["--cafile", cafile]
    if cert:
        args += ["--cert", cert, "--key", key]
    if tls_version:
        args += ["--tls-version", tls_version]
    return args


def mosquitto_pub(port, topic, message, host="127.0.0.1", qos=0, retain=False, extra=(), timeout=CLIENT_TIMEOUT):
    """Runs mosquitto_pub once; returns the CompletedProcess (returncode None when it had to be killed)."""
    cmd = [MOSQUITTO_PUB, "-h", host, "-p", str(port), "-t", topic, "-m", message, "-q", str(qos),
           "-i", "pub-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)]
    if retain:
        cmd.append("-r")
    cmd += list(extra)
    return _run_bounded(cmd, timeout)


def _run_bounded(cmd, timeout):
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return subprocess.CompletedProcess(cmd, code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


class MosquittoSub:
    """mosquitto_sub in the background with -v (lines "topic payload"); killed by PID when done.

    Readiness: with -d, mosquitto_sub prints "Client ... received SUBACK" once the broker granted the
    subscription, so a test publishes only after wait_subscribed().
    """

    def __init__(self, port, topics, host="127.0.0.1", qos=0, client_id=None, extra=(), count=None):
        self.client_id = client_id or "sub-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)
        # stdbuf: mosquitto_sub's stdout is block-buffered on a pipe, and the test reads it line by line.
        cmd = [STDBUF, "-oL", MOSQUITTO_SUB, "-h", host, "-p", str(port), "-q", str(qos), "-v", "-d", "-i", self.client_id]
        for t in ([topics] if isinstance(topics, str) else topics):
            cmd += ["-t", t]
        if count is not None:
            cmd += ["-C", str(count)]
        cmd += list(extra)
        self.cmd = cmd
        self.lines = queue.Queue()
        self.output = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.output.append(line)
            self.lines.put(line)

    def text(self):
        with self._lock:
            return "\n".join(self.output)

    def wait_subscribed(self, timeout=CLIENT_TIMEOUT):
        # "Subscribed (mid: N): codes" is printed after "received SUBACK", once the granted codes are known:
        # a test reading the codes must not look between the two lines.
        ok = wait_until(lambda: "Subscribed (mid:" in self.text() or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            self._reader.join(timeout=5)  # exited already: let the reader take the rest of its output first
        if not ok or "Subscribed (mid:" not in self.text():
            raise AssertionError("mosquitto_sub did not get a SUBACK within %.0f s (exit status %s):\n%s\n%s"
                                 % (timeout, self.proc.poll(), " ".join(self.cmd), self.text()))
        return self

    def expect_message(self, topic, payload, timeout=CLIENT_TIMEOUT):
        """Waits for the "-v" line "topic payload", skipping mosquitto_sub's -d debug lines."""
        wanted = "%s %s" % (topic, payload)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line == wanted:
                return
        raise AssertionError("mosquitto_sub did not print %r within %.0f s; it printed:\n%s"
                             % (wanted, timeout, self.text()))

    def wait_exit(self, timeout=CLIENT_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """SIGKILL: the socket closes without DISCONNECT, as when a device loses power."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self._reader.join(timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)


# ------------------------------------------------------------------------------------------------- paho

class PahoClient:
    """paho.mqtt.client over transport "tcp" or "websockets", optionally TLS; its network loop runs on a
    thread of its own, and callbacks feed thread-safe queues."""

    def __init__(self, port, host="127.0.0.1", client_id="", transport="tcp", ws_path="/mqtt", tls=None,
                 will=None, clean_session=True, keepalive=60):
        self.host, self.port = host, port
        self.client = paho.Client(client_id=client_id, clean_session=clean_session, transport=transport,
                                  protocol=paho.MQTTv311)
        if transport == "websockets":
            self.client.ws_set_options(path=ws_path)
        if tls is not None:
            self.client.tls_set(**tls)
        if will is not None:
            self.client.will_set(*will)
        self.keepalive = keepalive
        self.messages = queue.Queue()
        self.connack = None
        self.granted = {}
        self.acked = set()
        self.disconnected = threading.Event()
        self._cond = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda c, u, rc: self.disconnected.set()
        self._thread = None

    def _on_connect(self, client, userdata, flags, rc):
        with self._cond:
            self.connack = (flags, rc)
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        with self._cond:
            self.granted[mid] = granted_qos
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid):
        with self._cond:
            self.acked.add(mid)
            self._cond.notify_all()

    def _wait(self, predicate, timeout, what):
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError("paho (%s:%d): no %s within %.0f s" % (self.host, self.port, what, timeout))

    def connect(self, timeout=10.0):
        self.client.connect(self.host, self.port, keepalive=self.keepalive)
        # loop_start, not a thread of our own running loop_forever: only with loop_start does paho know its
        # network thread, and then publish() from the test thread queues instead of writing to the socket
        # itself; two threads writing one TLS or WebSocket stream corrupt it.
        self.client.loop_start()
        self._thread = True
        self._wait(lambda: self.connack is not None, timeout, "CONNACK")
        if self.connack[1] != 0:
            raise AssertionError("paho: CONNACK return code %d" % self.connack[1])
        return self

    def subscribe(self, topic_filter, qos=0, timeout=10.0):
        rc, mid = self.client.subscribe(topic_filter, qos)
        if rc != paho.MQTT_ERR_SUCCESS:
            raise AssertionError("paho: subscribe failed locally: rc=%d" % rc)
        self._wait(lambda: mid in self.granted, timeout, "SUBACK for %s" % topic_filter)
        return self.granted[mid]

    def publish(self, topic, payload, qos=0, retain=False, timeout=10.0):
        """Publishes and, for QoS 1/2, waits for the flow to complete (PUBACK / PUBCOMP)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise AssertionError("paho: publish failed locally: rc=%d" % info.rc)
        self._wait(lambda: info.mid in self.acked, timeout, "completion of the QoS %d publish" % qos)

    def expect_message(self, topic, timeout=10.0):
        """The next message; fails when it is for another topic."""
        try:
            msg = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("paho (%s:%d): no message on %s within %.0f s"
                                 % (self.host, self.port, topic, timeout)) from None
        if msg.topic != topic:
            raise AssertionError("paho: expected a message on %s, got one on %s" % (topic, msg.topic))
        return msg

    def disconnect(self):
        """Sends DISCONNECT and stops the network thread."""
        self.client.disconnect()
        if self.disconnected.wait(5) is False:
            raise AssertionError("paho: the DISCONNECT was not sent within 5 s")
        self.close()

    def close(self):
        if self._thread is None:
            return
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - best effort at tear-down
            pass
        self.client.loop_stop()
        self._thread = None

def client_ssl_context(cafile, cert=None, key=None, minimum=None, maximum=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


# ------------------------------------------------------------------------------------------- test case

class ListenerTestCase(unittest.TestCase):
    """Base class: a fresh PKI per test file, brokers stopped and their logs shown on failure."""

    _pki = None

    @classmethod
    def pki_for_class(cls):
        if ListenerTestCase._pki is None:
            ListenerTestCase._pki = StandardPki(os.path.join(base_dir(), "pki"))
        return ListenerTestCase._pki

    def setUp(self):
        self.brokers = []
        self.pki = self.pki_for_class()
        signal.signal(signal.SIGALRM, self._time_limit)
        signal.alarm(TEST_TIME_LIMIT)

    def _time_limit(self, signum, frame):
        raise AssertionError("test exceeded its %d s time limit" % TEST_TIME_LIMIT)

    def tearDown(self):
        signal.alarm(0)
        for b in self.brokers:
            b.stop()

    def start_broker(self, listeners, **top_level):
        b = start_mqttd(listeners, top_level)
        self.brokers.append(b)
        return b

    def sub(self, *args, **kwargs):
        s = MosquittoSub(*args, **kwargs)
        self.addCleanup(s.stop)
        return s

    def paho(self, *args, **kwargs):
        c = PahoClient(*args, **kwargs)
        self.addCleanup(c.close)
        return c

    def assert_pub_ok(self, result, why=""):
        if result.returncode != 0:
            self.fail("mosquitto_pub failed %s(exit %s): %s\nstdout: %s\nstderr: %s"
                      % (why + " " if why else "", result.returncode, " ".join(result.args),
                         result.stdout, result.stderr))

    def assert_client_failed(self, result, why=""):
        if result.returncode == 0:
            self.fail("expected the client to fail %s but it exited 0: %s\nstdout: %s\nstderr: %s"
                      % (why, " ".join(result.args), result.stdout, result.stderr))


# ------------------------------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description="Run one listener test file against mqttd.")
    parser.add_argument("--broker", metavar="PATH", required=True, help="path to the mqttd binary")
    parser.add_argument("--passwd", metavar="PATH",
                        help="path to mqttd-passwd (default: found next to the --broker binary)")
    parser.add_argument("-k", dest="pattern", action="append", default=[],
                        help="only run tests whose name contains this substring")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (certs, logs)")
    args = parser.parse_args()

    OPTIONS.broker = os.path.abspath(args.broker)
    OPTIONS.passwd = broker.find_passwd(args.passwd, OPTIONS.broker)
    if not os.access(OPTIONS.broker, os.X_OK):
        print("error: broker binary %s does not exist or is not executable" % OPTIONS.broker, file=sys.stderr)
        return 1
    if paho is None:
        print("error: paho.mqtt is not importable: run the tests with /usr/bin/python3", file=sys.stderr)
        return 1
    for tool in (OPENSSL, MOSQUITTO_PUB, MOSQUITTO_SUB, STDBUF):
        if not os.access(tool, os.X_OK):
            print("skip: %s is not installed (Debian packages openssl, mosquitto-clients)" % tool)
            return SKIP_EXIT

    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = ["*%s*" % p for p in args.pattern]
    suite = loader.loadTestsFromModule(sys.modules["__main__"])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=broker.LogTailResult)
    if args.keep:
        atexit.register(lambda: print("kept %s" % base_dir()))
    else:
        atexit.register(lambda: shutil.rmtree(base_dir(), ignore_errors=True))
    print("broker under test: %s" % OPTIONS.broker)
    result = runner.run(suite)

    result.print_broker_logs()
    if not result.wasSuccessful():
        return 1
    if result.testsRun == 0:
        print("error: no test matched", file=sys.stderr)
        return 1
    if len(result.skipped) == result.testsRun:
        return SKIP_EXIT
    return 0


def run():
    """Entry point for each test file."""
    sys.exit(main())
