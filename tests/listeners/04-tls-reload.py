#!/usr/bin/python3
"""SIGHUP reloads the certificate, key and CA files of TLS listeners for new connections; connections already
open keep their session. A file that cannot be used on reload is logged (tls_reload_failed) and the listener
keeps serving with what it had."""

import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class TlsReload(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        self.live = os.path.join(h.base_dir(), "live-%s" % self._testMethodName)
        os.makedirs(self.live)
        self.cert, self.key, self.ca = (os.path.join(self.live, n) for n in ("server.crt", "server.key", "ca.crt"))
        self.install(self.pki.server, self.pki.ca_file)
        tls = h.tls_listener(self.pki, cert_file=self.cert, key_file=self.key, ca_file=self.ca,
                             require_client_cert=True)
        self.broker = self.start_broker([h.tcp_listener(), tls])
        self.tcp, self.tls = self.broker.port(0), self.broker.port(1)

    def install(self, server, ca_file):
        """Replaces the files the listener names, each by an atomic rename as a deployment tool would."""
        for source, target in ((server[0], self.cert), (server[1], self.key), (ca_file, self.ca)):
            shutil.copyfile(source, target + ".new")
            os.replace(target + ".new", target)

    def write(self, target, text):
        with open(target + ".new", "w") as f:
            f.write(text)
        os.replace(target + ".new", target)

    def reload(self, outcome):
        before = self.broker.log_count(outcome)
        self.broker.signal(signal.SIGHUP)
        return self.broker.wait_log(outcome, count=before + 1)[-1]

    def new_generation(self):
        """A second CA, unrelated to the first, with its own server and client certificates."""
        pki2 = h.Pki(os.path.join(h.base_dir(), "pki2-%s" % self._testMethodName))
        ca2 = pki2.make_ca("ca2", "second test CA")
        return ca2, pki2.issue("server2", ca2, "localhost"), pki2.issue("client2", ca2, "device-43", server=False)

    def test_new_ca_for_new_connections_existing_subscriber_kept(self):
        old = h.tls_args(self.pki.ca_file, *self.pki.client)
        subscriber = self.sub(self.tls, "reload/#", qos=1, extra=old).wait_subscribed()
        self.assert_pub_ok(h.mosquitto_pub(self.tls, "reload/before", "one", qos=1, extra=old))
        subscriber.expect_message("reload/before", "one")

        ca2, server2, client2 = self.new_generation()
        self.install(server2, ca2[0])
        line = self.reload("event=tls_reloaded")
        self.assertIn("listener=1", line)

        new = h.tls_args(ca2[0], *client2)
        self.assert_pub_ok(h.mosquitto_pub(self.tls, "reload/after", "two", qos=1, extra=new),
                           "with the new CA and client certificate after SIGHUP")
        subscriber.expect_message("reload/after", "two")      # the connection from before the reload
        self.assert_pub_ok(h.mosquitto_pub(self.tcp, "reload/tcp", "three", qos=1))
        subscriber.expect_message("reload/tcp", "three")

        self.assert_client_failed(h.mosquitto_pub(self.tls, "reload/x", "x", extra=old),
                                  "trusting only the old CA: the server certificate is now from the new one")
        self.assert_client_failed(h.mosquitto_pub(self.tls, "reload/x", "x",
                                                  extra=h.tls_args(ca2[0], *self.pki.client)),
                                  "with a client certificate from the old CA: ca_file was reloaded too")

    def test_broken_cert_on_reload_keeps_previous(self):
        old = h.tls_args(self.pki.ca_file, *self.pki.client)
        subscriber = self.sub(self.tls, "reload/#", qos=1, extra=old).wait_subscribed()

        self.write(self.cert, "-----BEGIN CERTIFICATE-----\ntruncated by a failed copy\n")
        line = self.reload("event=tls_reload_failed")
        self.assertIn("listener=1", line)
        self.assertIn("kept=previous", line)
        self.assertIn("reason=", line)
        self.assertTrue(self.broker.is_running(), self.broker.log_tail())

        self.assert_pub_ok(h.mosquitto_pub(self.tls, "reload/still", "old-cert", qos=1, extra=old),
                           "with the old CA after a failed reload")
        subscriber.expect_message("reload/still", "old-cert")

    def test_half_replaced_pair_on_reload_keeps_previous(self):
        """A new certificate next to the old key (the key not copied yet) must not be half-applied."""
        old = h.tls_args(self.pki.ca_file, *self.pki.client)
        ca2, server2, _ = self.new_generation()
        shutil.copyfile(server2[0], self.cert)
        line = self.reload("event=tls_reload_failed")
        self.assertIn("kept=previous", line)
        self.assert_pub_ok(h.mosquitto_pub(self.tls, "reload/still", "old-pair", extra=old),
                           "with the old CA after a reload refused for a mismatched pair")

        self.install(server2, self.pki.ca_file)         # the key arrives: the next SIGHUP succeeds
        self.reload("event=tls_reloaded")
        self.assert_pub_ok(h.mosquitto_pub(self.tls, "reload/new", "new-pair",
                                           extra=h.tls_args(ca2[0], *self.pki.client)))

    def test_missing_file_on_reload_keeps_previous(self):
        os.remove(self.key)
        line = self.reload("event=tls_reload_failed")
        self.assertIn(self.key, line, "the log line must name the missing file")
        self.assert_pub_ok(h.mosquitto_pub(self.tls, "reload/still", "x",
                                           extra=h.tls_args(self.pki.ca_file, *self.pki.client)))


if __name__ == "__main__":
    h.run()
