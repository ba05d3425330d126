#!/usr/bin/python3
"""mqttd's command line and configuration file (README "Command line" and "Configuration"). mqttd only."""

import os
import signal
import socket
import subprocess

import harness
from harness import BrokerTestCase, HOST, TARGET

GOOD_CONFIG = """// a full configuration, with both comment styles
{
    "listeners": [ {"type": "tcp", "bind": "127.0.0.1", "port": @PORT@} ],
    /* every other key, at a non-default value */
    "threads": 2,
    "log_level": "debug",
    "auth": {"allow_anonymous": true},
    "max_packet_size": 1048576,
    "connect_timeout": 2.5,
    "max_inflight": 10,
    "max_queued_messages": 100
}
"""


class Config(BrokerTestCase):
    def setUp(self):
        super().setUp()
        if TARGET.kind != "mqttd":
            self.skipTest("mqttd only: its command line and configuration file")

    def write(self, name, text):
        path = os.path.join(harness.base_dir(), "%s-%s" % (self.id().split(".")[-1], name))
        with open(path, "w") as f:
            f.write(text.replace("@PORT@", "0"))      # mqttd picks the port
        return path

    def run_broker(self, args, timeout=10.0):
        """Runs the broker to completion; a broker that does not exit in time is killed and fails the test."""
        cmd = [TARGET.path] + args
        try:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                                  preexec_fn=harness.die_with_parent, text=True)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %.0f s" % (" ".join(cmd), timeout))

    def assert_rejected(self, text, key, extra=()):
        """The config is refused both by --check and at start-up: exit 2, stderr names the file and key."""
        path = self.write("bad.json", text)
        for args in (["--check", "-c", path], ["-c", path]):
            with self.subTest(args=" ".join(args[:-1])):
                done = self.run_broker(args)
                self.assertEqual(done.returncode, 2, "exit status of mqttd %s for a bad config; stderr: %s"
                                 % (" ".join(args[:-1]), done.stderr))
                self.assertIn(path, done.stderr, "stderr names the file")
                self.assertIn(key, done.stderr, "stderr names the key")
                for text_part in extra:
                    self.assertIn(text_part, done.stderr)

    def test_check_accepts_a_good_config(self):
        path = self.write("good.json", GOOD_CONFIG)
        done = self.run_broker(["--check", "-c", path])
        self.assertEqual(done.returncode, 0, "mqttd --check -c good.json; stderr: %s" % done.stderr)

    def test_good_config_with_comments_starts(self):
        b = self.start_broker(config_text=GOOD_CONFIG)
        c = self.raw_connected("cfg-good", b.port)
        c.expect_open()

    def test_only_listeners_is_valid(self):
        text = '{"listeners": [{"type": "tcp", "port": @PORT@}]}'
        done = self.run_broker(["--check", "-c", self.write("min.json", text)])
        self.assertEqual(done.returncode, 0, "a file holding only listeners is valid; stderr: %s" % done.stderr)
        b = self.start_broker(config_text=text)      # bind defaults to 127.0.0.1
        self.raw_connected("cfg-min", b.port).expect_open()

    def test_unknown_key_is_refused(self):
        text = GOOD_CONFIG.replace('"max_inflight"', '"max_inflite"')
        self.assert_rejected(text, "max_inflite")

    def test_unknown_key_suggests_the_closest(self):
        path = self.write("typo.json", GOOD_CONFIG.replace('"max_inflight"', '"max_inflite"'))
        done = self.run_broker(["--check", "-c", path])
        self.assertIn('did you mean "max_inflight"', done.stderr, "README: the closest valid key is suggested")

    def test_unknown_listener_key_is_refused(self):
        self.assert_rejected(GOOD_CONFIG.replace('"bind"', '"bnid"'), "listeners[0].bnid")

    def test_wrong_type_is_refused(self):
        self.assert_rejected(GOOD_CONFIG.replace('"threads": 2', '"threads": "two"'), "threads")

    def test_wrong_port_type_is_refused(self):
        text = '{"listeners": [{"type": "tcp", "port": "abc"}]}'
        self.assert_rejected(text, "listeners[0].port", extra=['"abc"'])

    def test_out_of_range_is_refused(self):
        self.assert_rejected(GOOD_CONFIG.replace('"max_inflight": 10', '"max_inflight": 0'), "max_inflight")

    def test_missing_listeners_is_refused(self):
        self.assert_rejected('{"threads": 1}', "listeners")

    def test_invalid_json_is_refused(self):
        path = self.write("broken.json", '{"listeners": [')
        done = self.run_broker(["--check", "-c", path])
        self.assertEqual(done.returncode, 2, "invalid JSON; stderr: %s" % done.stderr)
        self.assertIn(path, done.stderr, "stderr names the file")

    def test_missing_file_is_refused(self):
        path = os.path.join(harness.base_dir(), "does-not-exist.json")
        done = self.run_broker(["-c", path])
        self.assertEqual(done.returncode, 2, "missing config file; stderr: %s" % done.stderr)
        self.assertIn(path, done.stderr, "stderr names the file")

    def test_version_and_help(self):
        for flag in ("--version", "--help", "-h"):
            with self.subTest(flag=flag):
                done = self.run_broker([flag])
                self.assertEqual(done.returncode, 0, "mqttd %s exit status; stderr: %s" % (flag, done.stderr))
                self.assertIn("mqttd", done.stdout.lower(), "mqttd %s prints something naming mqttd" % flag)

    def test_bad_command_line_exits_2(self):
        done = self.run_broker(["--no-such-option"])
        self.assertEqual(done.returncode, 2, "unknown option; stderr: %s" % done.stderr)

    def test_sigterm_exits_0(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                b = self.start_broker()
                c = self.raw_connected("cfg-stop", b.port)
                os.kill(b.proc.pid, sig)
                c.expect_closed(timeout=5.0, why="when the broker stops")
                try:
                    rc = b.proc.wait(timeout=5.0)
                except subprocess.TimeoutExpired:
                    raise AssertionError("README: mqttd exits within about 3 s of %s; still running after "
                                         "5 s" % sig.name)
                self.assertEqual(rc, 0, "README: exit status 0 after a clean shutdown on %s" % sig.name)

    def start_on_a_taken_port(self, reuseport):
        """Runs mqttd (two workers, so two acceptors) on a port a socket of this process listens on."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            if reuseport:
                taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            taken.bind((HOST, 0))
            taken.listen()
            port = taken.getsockname()[1]
            text = '{"threads": 2, "listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": %d}]}' % port
            return self.run_broker(["-c", self.write("taken.json", text)]), port

    def test_listener_that_cannot_bind_exits_1(self):
        done, port = self.start_on_a_taken_port(reuseport=False)
        self.assertEqual(done.returncode, 1, "README: exit 1 when a listener cannot bind; stderr: %s"
                         % done.stderr)
        self.assertIn(str(port), done.stderr, "the message names the listener's address and port")

    def test_port_held_by_a_reuseport_socket_of_the_same_user_exits_1(self):
        # mqttd's acceptors use SO_REUSEPORT (one per worker). A second broker run by the same user must still
        # be told the port is taken, not silently share it and take half the connections.
        done, port = self.start_on_a_taken_port(reuseport=True)
        self.assertEqual(done.returncode, 1, "exit 1 when the port is held by another process; stderr: %s"
                         % done.stderr)
        self.assertIn(str(port), done.stderr)
        self.assertIn("in use", done.stderr)

if __name__ == "__main__":
    harness.run()
