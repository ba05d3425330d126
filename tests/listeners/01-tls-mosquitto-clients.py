#!/usr/bin/python3
"""TLS listener with mosquitto_pub/mosquitto_sub: server and client certificate verification, the client
certificate's CN as username, and TLS and TCP clients sharing one broker (messages, retained, will).

[MQTT-4.2-1] MQTT runs over any transport giving an ordered, lossless byte stream each way: TLS here (section 4.2
names it; chapter 5 recommends it), sharing one broker state with the plain TCP listener.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class TlsWithMosquittoClients(h.ListenerTestCase):

    def start_tls_broker(self, **tls_options):
        options = {"ca_file": self.pki.ca_file, "require_client_cert": True, "use_identity_as_username": True}
        options.update(tls_options)
        broker = self.start_broker([h.tcp_listener(), h.tls_listener(self.pki, **options)])
        return broker, broker.port(0), broker.port(1)

    def client_tls(self, cafile=None):
        return h.tls_args(cafile or self.pki.ca_file, *self.pki.client)

    def test_right_ca_and_client_cert_connect_and_exchange(self):
        broker, _, tls = self.start_tls_broker()
        sub = self.sub(tls, "tls/a", extra=self.client_tls()).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(tls, "tls/a", "over-tls", extra=self.client_tls()))
        sub.expect_message("tls/a", "over-tls")
        broker.wait_log("event=connect", 'client_id="%s"' % sub.client_id)

    def test_wrong_ca_fails(self):
        """The client does not trust the server certificate: no MQTT connection is made."""
        broker, _, tls = self.start_tls_broker()
        result = h.mosquitto_pub(tls, "tls/a", "x", extra=self.client_tls(cafile=self.pki.other_ca[0]))
        self.assert_client_failed(result, "with a CA that did not sign the server certificate")
        self.assertIn("TLS", result.stderr)
        broker.wait_log("event=handshake_failed")
        self.assertEqual(broker.log_count("event=connect "), 0, broker.log_tail())

    def test_missing_client_cert_fails_when_required(self):
        broker, _, tls = self.start_tls_broker()
        result = h.mosquitto_pub(tls, "tls/a", "x", extra=h.tls_args(self.pki.ca_file))
        self.assert_client_failed(result, "without a client certificate when require_client_cert is true")
        broker.wait_log("event=handshake_failed")
        self.assertEqual(broker.log_count("event=connect "), 0, broker.log_tail())

    def test_client_cert_from_unrelated_ca_fails(self):
        broker, _, tls = self.start_tls_broker()
        result = h.mosquitto_pub(tls, "tls/a", "x", extra=h.tls_args(self.pki.ca_file, *self.pki.other_client))
        self.assert_client_failed(result, "with a client certificate the listener's ca_file did not sign")
        broker.wait_log("event=handshake_failed")
        self.assertEqual(broker.log_count("event=connect "), 0, broker.log_tail())

    def test_identity_as_username(self):
        """use_identity_as_username: the certificate CN is the username, whatever the client claims."""
        broker, _, tls = self.start_tls_broker()
        self.assert_pub_ok(h.mosquitto_pub(tls, "tls/a", "x", extra=self.client_tls()))
        line = broker.wait_log("event=connect ")[0]
        self.assertIn(' username="%s" ' % h.StandardPki.CLIENT_CN, line + " ")

        self.assert_pub_ok(h.mosquitto_pub(tls, "tls/a", "x", extra=self.client_tls() + ["-u", "admin"]))
        lines = broker.wait_log("event=connect ", count=2)
        self.assertIn(' username="%s" ' % h.StandardPki.CLIENT_CN, lines[1] + " ",
                      "a username in CONNECT must not replace the certificate identity")

    def test_optional_client_cert_without_identity(self):
        """require_client_cert false: a client without a certificate connects; its username is its own."""
        broker, _, tls = self.start_tls_broker(require_client_cert=False, use_identity_as_username=False)
        self.assert_pub_ok(h.mosquitto_pub(tls, "tls/a", "x", extra=h.tls_args(self.pki.ca_file) + ["-u", "bob"]))
        line = broker.wait_log("event=connect ")[0]
        self.assertIn(' username="bob" ', line + " ")

    def test_tls_and_tcp_clients_exchange_messages(self):
        _, tcp, tls = self.start_tls_broker()
        tcp_sub = self.sub(tcp, "x/#").wait_subscribed()
        tls_sub = self.sub(tls, "x/#", extra=self.client_tls()).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(tls, "x/from-tls", "hello-tcp", qos=1, extra=self.client_tls()))
        tcp_sub.expect_message("x/from-tls", "hello-tcp")
        tls_sub.expect_message("x/from-tls", "hello-tcp")
        self.assert_pub_ok(h.mosquitto_pub(tcp, "x/from-tcp", "hello-tls", qos=2))
        tls_sub.expect_message("x/from-tcp", "hello-tls")
        tcp_sub.expect_message("x/from-tcp", "hello-tls")

    def test_retained_message_crosses_listeners(self):
        """[MQTT-3.3.1-6] a new subscription gets the retained message, whichever listener either client used."""
        _, tcp, tls = self.start_tls_broker()
        self.assert_pub_ok(h.mosquitto_pub(tls, "r/tls", "kept-tls", qos=1, retain=True, extra=self.client_tls()))
        self.assert_pub_ok(h.mosquitto_pub(tcp, "r/tcp", "kept-tcp", qos=1, retain=True))

        tcp_sub = self.sub(tcp, "r/tls", count=1)
        tcp_sub.expect_message("r/tls", "kept-tls")
        tls_sub = self.sub(tls, "r/tcp", count=1, extra=self.client_tls())
        tls_sub.expect_message("r/tcp", "kept-tcp")
        for sub in (tcp_sub, tls_sub):
            self.assertEqual(sub.wait_exit(), 0, sub.text())
            # mosquitto_sub -d prints the flags of each PUBLISH: r1 is the RETAIN flag [MQTT-3.3.1-8].
            self.assertRegex(sub.text(), r"received PUBLISH \(d0, q\d, r1,")

    def test_will_of_killed_tls_client_reaches_tcp_subscriber(self):
        """[MQTT-3.1.2-8] the will is published when the network connection closes without DISCONNECT."""
        broker, tcp, tls = self.start_tls_broker()
        watcher = self.sub(tcp, "wills/#", qos=1).wait_subscribed()
        device = self.sub(tls, "unused", extra=self.client_tls() + [
            "--will-topic", "wills/device-42", "--will-payload", "gone", "--will-qos", "1"]).wait_subscribed()
        marker = h.mosquitto_pub(tcp, "wills/marker", "before-kill", qos=1)
        self.assert_pub_ok(marker)
        watcher.expect_message("wills/marker", "before-kill")   # the will has not been published yet

        device.kill()
        watcher.expect_message("wills/device-42", "gone")
        broker.wait_log("event=disconnect", 'client_id="%s"' % device.client_id)


if __name__ == "__main__":
    h.run()
