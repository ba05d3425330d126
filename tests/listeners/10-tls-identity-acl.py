#!/usr/bin/python3
"""A TLS listener with use_identity_as_username and an ACL `pattern readwrite devices/%u/#`: a device whose
client certificate says CN=device-42 needs no password, may publish and subscribe under devices/device-42/#,
and gets SUBACK 0x80 and silently dropped publishes everywhere else [MQTT-3.9.3-1][MQTT-3.3.5-2]. The
password file, configured for the TCP listener beside it, is never consulted for the device: not with no
password, not with a wrong one, not with another user's name, and not slowed by failed logins from its address.

mqttd-passwd (--passwd, or found next to --broker) writes the password file; the certificates come from pki.py.
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402

ACL = """\
user admin
topic readwrite #

pattern readwrite devices/%u/#
"""
ADMIN = ["-u", "admin", "-P", "admin-pass"]


class TlsIdentityAcl(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        if h.OPTIONS.passwd is None:
            self.skipTest("no mqttd-passwd (--passwd, or next to --broker)")
        self.dir = os.path.join(h.base_dir(), self._testMethodName)
        os.makedirs(self.dir)
        self.passwords = os.path.join(self.dir, "passwd")
        self.acl = os.path.join(self.dir, "acl")
        self.add_user("admin", "admin-pass", create=True)
        # The device's own name in the password file, with a password the device never sends: were the file
        # consulted for it, the device could not get in.
        self.add_user("device-42", "only-in-the-file")
        with open(self.acl, "w") as f:
            f.write(ACL)
        self.device = h.tls_args(self.pki.ca_file, *self.pki.client)          # CN=device-42

    def add_user(self, user, password, create=False):
        cmd = [h.OPTIONS.passwd] + (["-c"] if create else []) + ["-b", self.passwords, user, password]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(cmd), done.stderr))

    def start_auth_broker(self, password_file=True, **auth):
        settings = {"allow_anonymous": False, "acl_file": self.acl, "failed_login_delay": 0}
        if password_file:
            settings["password_file"] = self.passwords
        settings.update(auth)
        tls = h.tls_listener(self.pki, ca_file=self.pki.ca_file, require_client_cert=True,
                             use_identity_as_username=True)
        broker = self.start_broker([h.tcp_listener(), tls], auth=settings)
        return broker, broker.port(0), broker.port(1)

    def marker_seen_by(self, sub, port, topic="devices/device-42/marker"):
        """admin publishes a marker after the messages under test; sub must print it, and nothing the test
        forbids may come before it (checked by the caller on sub.text())."""
        payload = "marker-%d" % time.monotonic_ns()
        self.assert_pub_ok(h.mosquitto_pub(port, topic, payload, qos=1, extra=ADMIN))
        sub.expect_message(topic, payload)

    def test_device_publishes_and_subscribes_under_its_own_prefix_without_password(self):
        broker, tcp, tls = self.start_auth_broker()
        admin = self.sub(tcp, "devices/#", qos=1, extra=ADMIN).wait_subscribed()
        device = self.sub(tls, "devices/device-42/#", qos=1, host="localhost", extra=self.device).wait_subscribed()
        self.assertIn("Subscribed (mid: 1): 1", device.text(), "devices/device-42/# granted at QoS 1")

        self.assert_pub_ok(h.mosquitto_pub(tls, "devices/device-42/temp", "21.5", qos=1, host="localhost",
                                           extra=self.device), "the device, with no username or password")
        admin.expect_message("devices/device-42/temp", "21.5")
        device.expect_message("devices/device-42/temp", "21.5")
        self.assert_pub_ok(h.mosquitto_pub(tcp, "devices/device-42/cmd", "reboot", qos=1, extra=ADMIN))
        device.expect_message("devices/device-42/cmd", "reboot")
        lines = broker.log_lines("event=connect ", 'username="device-42"')
        self.assertGreaterEqual(len(lines), 2, "the certificate CN is the username in the log")
        self.assertEqual(broker.log_count("event=connect_rejected"), 0, broker.log_tail())

    def test_device_gets_0x80_and_dropped_publishes_elsewhere(self):
        broker, tcp, tls = self.start_auth_broker()
        admin = self.sub(tcp, "devices/#", qos=1, extra=ADMIN).wait_subscribed()
        for topic_filter in ("devices/device-43/#", "devices/#", "#", "devices/+/temp"):
            with self.subTest(filter=topic_filter):
                sub = self.sub(tls, topic_filter, qos=1, host="localhost", extra=self.device).wait_subscribed()
                self.assertIn("Subscribed (mid: 1): 128", sub.text(),
                              "SUBACK 0x80 for %s, outside devices/device-42/ [MQTT-3.9.3-1]" % topic_filter)
                sub.stop()
        for topic in ("devices/device-43/temp", "devices/temp", "elsewhere"):
            self.assert_pub_ok(h.mosquitto_pub(tls, topic, "spoofed", qos=1, host="localhost", extra=self.device),
                               "a denied QoS 1 PUBLISH is still acknowledged [MQTT-3.3.5-2]")
        self.marker_seen_by(admin, tcp)
        self.assertNotIn("spoofed", admin.text(), "publishes outside devices/device-42/ were dropped")
        denied = broker.log_lines("event=publish_denied", 'username="device-42"')
        self.assertEqual(sorted(re.search(r'topic="([^"]*)"', l).group(1) for l in denied),
                         ["devices/device-43/temp", "devices/temp", "elsewhere"])
        self.assertEqual(broker.log_count("event=subscribe_denied", 'username="device-42"'), 4)

    def test_password_file_is_not_consulted_for_the_certificate_identity(self):
        """A username and password sent over the identity listener are ignored: a wrong password gets in, and
        a claimed "admin" stays device-42 (it cannot read admin's topics)."""
        broker, tcp, tls = self.start_auth_broker()
        for claimed in (["-u", "device-42", "-P", "wrong"], ["-u", "admin", "-P", "wrong"], ADMIN):
            with self.subTest(claimed=" ".join(claimed)):
                sub = self.sub(tls, "#", qos=1, host="localhost", extra=self.device + claimed).wait_subscribed()
                self.assertIn("Subscribed (mid: 1): 128", sub.text(),
                              "still device-42, which may not read #, whatever username it sends")
                sub.stop()
                self.assert_pub_ok(h.mosquitto_pub(tls, "devices/device-42/x", "in", qos=1, host="localhost",
                                                   extra=self.device + claimed))
        self.assertEqual(broker.log_count("event=connect_rejected"), 0, broker.log_tail())
        self.assertEqual(broker.log_count("event=connect ", 'username="admin"'), 0,
                         "no connection over the identity listener became admin")

    def test_failed_logins_from_the_same_address_do_not_slow_the_device(self):
        """Three wrong passwords on the TCP listener from 127.0.0.1 would make the next password check wait
        3 x 2 s; the device from the same address is not checked, so it is not slowed either."""
        broker, tcp, tls = self.start_auth_broker(failed_login_delay=2, max_failed_login_delay=30)
        for i in range(3):
            result = h.mosquitto_pub(tcp, "x", "x", extra=["-u", "admin", "-P", "wrong-%d" % i], timeout=15)
            self.assertEqual(result.returncode, 4, "CONNACK 4 for a wrong password: %s" % result.stderr)
        start = time.monotonic()
        self.assert_pub_ok(h.mosquitto_pub(tls, "devices/device-42/x", "quick", qos=1, host="localhost",
                                           extra=self.device))
        took = time.monotonic() - start
        self.assertLess(took, 2.0, "the device waited %.1f s: it was treated as a failed login" % took)
        self.assertEqual(broker.log_count("event=login_slowed"), 2, "slowed: the 2nd and 3rd wrong passwords only")

    def test_without_a_password_file(self):
        broker, tcp, tls = self.start_auth_broker(password_file=False)
        device = self.sub(tls, "devices/device-42/#", qos=1, host="localhost", extra=self.device).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(tls, "devices/device-42/t", "no file", qos=1, host="localhost",
                                           extra=self.device))
        device.expect_message("devices/device-42/t", "no file")
        result = h.mosquitto_pub(tcp, "x", "x")
        self.assertEqual(result.returncode, 5, "anonymous TCP client, anonymous access off: %s" % result.stderr)

    def test_another_device_reaches_only_its_own_prefix(self):
        """Another device of the same CA (CN=device-43) gets devices/device-43/# and not device-42's."""
        broker, tcp, tls = self.start_auth_broker()
        other = h.tls_args(self.pki.ca_file, *device_43(self.pki))
        watcher = self.sub(tls, "devices/device-42/#", qos=1, host="localhost", extra=self.device)
        watcher.wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(tls, "devices/device-42/cmd", "from 43", qos=1, host="localhost",
                                           extra=other))
        self.assert_pub_ok(h.mosquitto_pub(tls, "devices/device-43/temp", "own", qos=1, host="localhost",
                                           extra=other))
        self.marker_seen_by(watcher, tcp)
        self.assertNotIn("from 43", watcher.text())
        broker.wait_log("event=publish_denied", 'username="device-43"', 'topic="devices/device-42/cmd"')
        self.assertEqual(broker.log_count("event=publish_denied", 'username="device-43"'), 1)


_device_43 = None


def device_43(pki):
    """A second client certificate from the same CA, CN=device-43 (made once per run)."""
    global _device_43
    if _device_43 is None:
        _device_43 = pki.issue("device-43", pki.ca, "device-43", server=False)
    return _device_43


if __name__ == "__main__":
    h.run()
