#!/usr/bin/python3
"""Listeners bound to the IPv6 loopback ::1: TCP with mosquitto_pub/mosquitto_sub -h ::1, and TLS, where the
server certificate's IP:::1 subjectAltName is what the client verifies."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class Ipv6Listeners(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        if not h.has_ipv6_loopback():
            raise unittest.SkipTest("no IPv6 loopback (::1) on this machine")
        self.broker = self.start_broker([h.tcp_listener(bind="::1"), h.tls_listener(self.pki, bind="::1"),
                                         h.tcp_listener()])
        self.tcp6, self.tls6, self.tcp4 = (self.broker.port(i) for i in range(3))

    def test_listening_line_shows_ipv6_address(self):
        self.broker.wait_log("event=listening", "type=tcp", "%d" % self.tcp6)
        self.assertIn("::1", self.broker.log_lines("event=listening", "type=tcp", str(self.tcp6))[0])

    def test_tcp_on_ipv6_loopback(self):
        sub = self.sub(self.tcp6, "six/#", host="::1").wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(self.tcp6, "six/a", "over ipv6", host="::1", qos=1))
        sub.expect_message("six/a", "over ipv6")
        line = self.broker.wait_log("event=connect", 'client_id="%s"' % sub.client_id)[0]
        self.assertIn("::1", line, "the connect line should show the IPv6 peer address")

    def test_ipv6_and_ipv4_clients_exchange(self):
        sub6 = self.sub(self.tcp6, "mix/#", host="::1").wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(self.tcp4, "mix/from-v4", "v4", host="127.0.0.1"))
        sub6.expect_message("mix/from-v4", "v4")

    def test_ipv4_not_accepted_on_ipv6_only_bind(self):
        """bind "::1" is the IPv6 loopback only: 127.0.0.1 on that port is refused (or another process's)."""
        result = h.mosquitto_pub(self.tcp6, "x", "x", host="127.0.0.1", timeout=5)
        self.assert_client_failed(result, "to 127.0.0.1 on a port bound to ::1")

    def test_tls_on_ipv6_loopback(self):
        sub = self.sub(self.tls6, "six/tls", host="::1", extra=h.tls_args(self.pki.ca_file)).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(self.tls6, "six/tls", "tls over ipv6", host="::1",
                                           extra=h.tls_args(self.pki.ca_file)))
        sub.expect_message("six/tls", "tls over ipv6")


if __name__ == "__main__":
    h.run()
