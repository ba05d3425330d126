#!/usr/bin/python3
"""TLS listener key material: an encrypted private key opened with key_password_file, and start-up
refused (exit status 1, the offending file named on stderr) when a certificate or key cannot be used."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class TlsKeyFiles(h.ListenerTestCase):

    def config_with(self, **tls_options):
        tls = h.tls_listener(self.pki)
        tls.update(tls_options)
        return {"listeners": [h.tcp_listener(), tls], "threads": 1, "log_level": "debug"}

    def test_encrypted_key_with_password_file(self):
        key, pass_file = self.pki.encrypt_key(self.pki.server[1], "server-encrypted", "correct horse battery")
        with open(key) as f:
            self.assertIn("ENCRYPTED", f.read())
        broker = self.start_broker([h.tls_listener(self.pki, key_file=key, key_password_file=pass_file)])
        port = broker.port(0)
        sub = self.sub(port, "k/a", extra=h.tls_args(self.pki.ca_file)).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(port, "k/a", "unlocked", extra=h.tls_args(self.pki.ca_file)))
        sub.expect_message("k/a", "unlocked")

    def test_wrong_password_stops_startup(self):
        key, _ = self.pki.encrypt_key(self.pki.server[1], "server-encrypted-2", "the right one")
        wrong = self.pki.path("wrong.pass")
        with open(wrong, "w") as f:
            f.write("not the right one\n")
        code, out = h.run_mqttd_once(self.config_with(key_file=key, key_password_file=wrong))
        self.assertEqual(code, 1, out)
        self.assertIn("event=startup_failed", out)
        self.assertIn(key, out, "the message must name the key file")

    def test_mismatched_cert_and_key_stop_startup(self):
        """The server certificate with the client's private key."""
        code, out = h.run_mqttd_once(self.config_with(key_file=self.pki.client[1]))
        self.assertEqual(code, 1, out)
        self.assertIn("event=startup_failed", out)
        self.assertIn("listeners[1]", out)
        self.assertIn(self.pki.client[1], out, "the message must name the key file")
        self.assertIn(self.pki.server[0], out, "the message must name the certificate file")
        self.assertNotIn("event=listening", out)

    def test_missing_cert_file_stops_startup(self):
        missing = self.pki.path("no-such-server.crt")
        code, out = h.run_mqttd_once(self.config_with(cert_file=missing))
        self.assertEqual(code, 1, out)
        self.assertIn("event=startup_failed", out)
        self.assertIn(missing, out, "the message must name the missing file")
        self.assertNotIn("event=listening", out)

    def test_missing_ca_file_stops_startup(self):
        missing = self.pki.path("no-such-ca.crt")
        code, out = h.run_mqttd_once(self.config_with(ca_file=missing, require_client_cert=True))
        self.assertEqual(code, 1, out)
        self.assertIn("event=startup_failed", out)
        self.assertIn(missing, out, "the message must name the missing file")

    def test_garbage_cert_file_stops_startup(self):
        garbage = self.pki.path("garbage.crt")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        code, out = h.run_mqttd_once(self.config_with(cert_file=garbage))
        self.assertEqual(code, 1, out)
        self.assertIn(garbage, out, "the message must name the unreadable file")


if __name__ == "__main__":
    h.run()
