#!/usr/bin/python3
"""connect_timeout bounds the whole opening of a connection, the TLS handshake and the WebSocket upgrade
included: a socket that connects to a TLS, WSS or WS port and then stalls is closed after connect_timeout, and
while it waits other clients are served.

[MQTT-3.1.0-1] the first packet on a network connection is CONNECT, and MQTT 3.1.1 leaves the server to decide how
long to wait for it; mqttd's connect_timeout is that bound, and a handshake that never finishes must not escape it.
[MQTT-4.2-1] for MQTT the network connection is the TLS or WebSocket stream, so its set-up counts as waiting."""

import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402

CONNECT_TIMEOUT = 1
LATEST_CLOSE = CONNECT_TIMEOUT + 2.5     # generous for a loaded CI machine


class HandshakeTimeout(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.start_broker([h.tcp_listener(), h.tls_listener(self.pki), h.wss_listener(self.pki),
                                         h.ws_listener()], connect_timeout=CONNECT_TIMEOUT)
        self.tcp, self.tls, self.wss, self.ws = (self.broker.port(i) for i in range(4))

    def seconds_until_closed(self, sock, started):
        """Reads until the broker closes the connection; returns the seconds since started."""
        sock.settimeout(LATEST_CLOSE + 2)
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("the connection was still open %.1f s after it was made" % (time.monotonic() - started))
        return time.monotonic() - started

    def assert_closed_in_time(self, elapsed, what):
        self.assertGreaterEqual(elapsed, CONNECT_TIMEOUT * 0.8, "%s closed before connect_timeout" % what)
        self.assertLessEqual(elapsed, LATEST_CLOSE, "%s closed %.1f s after connecting" % (what, elapsed))

    def test_silent_socket_on_tls_port_closed(self):
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.tls)) as s:
            self.assert_closed_in_time(self.seconds_until_closed(s, started), "a silent TLS connection")

    def test_partial_client_hello_closed(self):
        """A TLS record header announcing a ClientHello whose body never comes."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.tls)) as s:
            s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
            self.assert_closed_in_time(self.seconds_until_closed(s, started), "a half-sent ClientHello")

    def test_tls_without_connect_closed(self):
        """The handshake completes but no CONNECT follows."""
        started = time.monotonic()
        ctx = h.client_ssl_context(self.pki.ca_file)
        with socket.create_connection(("127.0.0.1", self.tls)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                try:
                    elapsed = self.seconds_until_closed(s, started)
                except ssl.SSLError:
                    elapsed = time.monotonic() - started
                self.assert_closed_in_time(elapsed, "a TLS connection without CONNECT")

    def test_silent_socket_on_wss_and_ws_ports_closed(self):
        for port, what in ((self.wss, "a silent WSS connection"), (self.ws, "a silent WS connection")):
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port)) as s:
                self.assert_closed_in_time(self.seconds_until_closed(s, started), what)

    def test_half_sent_upgrade_request_closed(self):
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.ws)) as s:
            s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            self.assert_closed_in_time(self.seconds_until_closed(s, started), "a half-sent upgrade request")

    def test_others_served_while_handshakes_stall(self):
        stalled = [socket.create_connection(("127.0.0.1", port)) for port in (self.tls, self.tls, self.wss)]
        try:
            started = time.monotonic()
            self.assert_pub_ok(h.mosquitto_pub(self.tls, "t/a", "x", extra=h.tls_args(self.pki.ca_file)))
            self.assert_pub_ok(h.mosquitto_pub(self.tcp, "t/a", "x"))
            self.assertLess(time.monotonic() - started, CONNECT_TIMEOUT,
                            "clients waited for the stalled handshakes to time out")
        finally:
            for s in stalled:
                s.close()


if __name__ == "__main__":
    h.run()
