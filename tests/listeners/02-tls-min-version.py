#!/usr/bin/python3
"""TLS listener option min_tls_version: with "1.3" a client limited to TLS 1.2 is refused in the handshake,
before any MQTT byte is exchanged; a TLS 1.3 client connects. The default ("1.2") accepts TLS 1.2.

The TLS 1.2-only clients are `openssl s_client -tls1_2` and Python's ssl with maximum_version TLSv1_2.
`mosquitto_sub --tls-version tlsv1.2` is not one: libmosquitto 2.0.11 treats the option as a minimum and still
offers TLS 1.3 (it connects to a listener that refuses TLS 1.2), so it cannot show the refusal.
"""

import os
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class MinTlsVersion(h.ListenerTestCase):

    def start_tls_broker(self, **options):
        broker = self.start_broker([h.tls_listener(self.pki, **options)])
        return broker, broker.port(0)

    def s_client(self, port, *version):
        """openssl s_client with the given version flags; returns (exit status, stdout + stderr)."""
        result = subprocess.run([h.OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-brief",
                                 "-CAfile", self.pki.ca_file, "-verify_return_error", *version],
                                input=b"", capture_output=True, timeout=h.CLIENT_TIMEOUT)
        return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")

    def test_tls12_only_client_refused_by_min_13(self):
        broker, port = self.start_tls_broker(min_tls_version="1.3")
        code, out = self.s_client(port, "-tls1_2")
        self.assertNotEqual(code, 0, "openssl s_client -tls1_2 completed a handshake:\n" + out)
        self.assertIn("protocol version", out)
        broker.wait_log("event=handshake_failed")

        only_12 = h.client_ssl_context(self.pki.ca_file, maximum=ssl.TLSVersion.TLSv1_2)
        with self.assertRaisesRegex(ssl.SSLError, "PROTOCOL_VERSION|protocol version"):
            with h.socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with only_12.wrap_socket(raw, server_hostname="localhost"):
                    pass
        self.assertEqual(broker.log_count("event=connect "), 0, broker.log_tail())

    def test_tls13_client_accepted_by_min_13(self):
        broker, port = self.start_tls_broker(min_tls_version="1.3")
        code, out = self.s_client(port, "-tls1_3")
        self.assertEqual(code, 0, out)
        self.assertIn("Protocol version: TLSv1.3", out)

        tls13 = h.tls_args(self.pki.ca_file, tls_version="tlsv1.3")
        sub = self.sub(port, "v/a", extra=tls13).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(port, "v/a", "tls13", extra=tls13))
        sub.expect_message("v/a", "tls13")

    def test_default_accepts_tls12(self):
        """Control: without min_tls_version TLS 1.2 connects, so the refusal above is the option's doing."""
        _, port = self.start_tls_broker()
        code, out = self.s_client(port, "-tls1_2")
        self.assertEqual(code, 0, out)
        self.assertIn("Protocol version: TLSv1.2", out)
        self.assert_pub_ok(h.mosquitto_pub(port, "v/a", "x", extra=h.tls_args(self.pki.ca_file,
                                                                               tls_version="tlsv1.2")))


if __name__ == "__main__":
    h.run()
