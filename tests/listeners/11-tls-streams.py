#!/usr/bin/python3
"""The TLS stream under load and abuse, over the tls and wss listeners (broker/net/tls_stream.hpp: OpenSSL on the
socket, Asio only for readiness): 1 MB messages both ways, many small messages, a reader that stalls while the
broker writes to it, a peer that closes in the middle of a TLS record, garbage instead of a ClientHello, and the
close_notify the broker sends when it closes. Through all of it the broker keeps serving its other clients.

[MQTT-4.2-1] over TLS and WebSocket the network connection is the stream; MQTT on it is unchanged: messages
arrive whole and in order [MQTT-4.6.0-6] however the stream cuts them into records and frames."""

import hashlib
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness as ih  # noqa: E402  (tests/integration/harness.py: RawClient and packet builders)
import listener_harness as h  # noqa: E402

MB = 1024 * 1024


def digest(data):
    return hashlib.sha256(data).hexdigest()


class TlsStreams(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        # Limits above what the tests send: the slow reader must stall the broker's writes, not lose QoS 0
        # messages, and 2000 messages sent at once must not overflow a subscriber's queue.
        self.broker = self.start_broker([h.tcp_listener(), h.tls_listener(self.pki), h.wss_listener(self.pki)],
                                        max_outbound_bytes=32 * MB, max_queued_messages=10000)
        self.tcp, self.tls, self.wss = (self.broker.port(i) for i in range(3))

    def tls_client(self, name):
        return self.paho(self.tls, client_id=name, tls={"ca_certs": self.pki.ca_file}).connect()

    def wss_client(self, name):
        return self.paho(self.wss, client_id=name, transport="websockets", tls={"ca_certs": self.pki.ca_file}).connect()

    def raw_tls(self, rcvbuf=None):
        """ih.RawClient (byte-exact MQTT) over a TLS connection to the tls listener."""
        client = ih.RawClient(self.tls, timeout=10, rcvbuf=rcvbuf)
        client.sock = h.client_ssl_context(self.pki.ca_file).wrap_socket(client.sock, server_hostname="localhost")
        self.addCleanup(client.sock.close)
        return client

    def assert_others_served(self, topic="others/ok"):
        """A TCP client's round trip, bounded: the broker still serves everyone else."""
        tcp = self.paho(self.tcp, client_id="bystander-%d" % time.monotonic_ns()).connect()
        tcp.subscribe(topic, qos=1)
        tcp.publish(topic, b"still here", qos=1)
        self.assertEqual(tcp.expect_message(topic, timeout=5).payload, b"still here")
        tcp.close()

    def test_megabyte_messages_both_ways_over_tls_and_wss(self):
        tls, wss = self.tls_client("tls-big"), self.wss_client("wss-big")
        for c in (tls, wss):
            c.subscribe("big/#", qos=1)
        for sender, name in ((tls, "tls"), (wss, "wss")):
            payload = os.urandom(MB)
            sender.publish("big/" + name, payload, qos=1, timeout=20)
            for receiver in (tls, wss):
                msg = receiver.expect_message("big/" + name, timeout=20)
                self.assertEqual(digest(msg.payload), digest(payload), "1 MB from %s arrived changed" % name)

    def test_many_small_messages_arrive_in_order(self):
        """2000 QoS 1 messages sent without waiting: many packets per record and records per read."""
        tls, wss = self.tls_client("tls-small"), self.wss_client("wss-small")
        count = 2000
        for sender, receiver, name in ((tls, wss, "tls"), (wss, tls, "wss")):
            topic = "small/" + name
            receiver.subscribe(topic, qos=1)
            infos = [sender.client.publish(topic, b"%d" % i, qos=1) for i in range(count)]
            got = [receiver.expect_message(topic, timeout=20).payload for _ in range(count)]
            self.assertEqual(got, [b"%d" % i for i in range(count)], "messages from %s lost or reordered" % name)
            self.assertTrue(h.wait_until(lambda: all(i.is_published() for i in infos), 20),
                            "not every PUBACK reached the %s sender" % name)

    def test_slow_reader_gets_everything_once_it_reads(self):
        """A TLS subscriber with a tiny receive window does not read while 6 MB are published to it: the
        broker's writes to it stall (partial TLS writes, waits for writability) and resume when it reads."""
        reader = self.raw_tls(rcvbuf=4096)
        self.assertEqual(reader.connect("slow-reader"), (False, 0))
        reader.send(ih.subscribe_packet(1, [("slow/#", 0)]))
        reader.expect(ih.SUBACK)
        publisher = self.tls_client("slow-pub")
        payloads = [os.urandom(MB) for _ in range(6)]
        for i, payload in enumerate(payloads):
            publisher.publish("slow/%d" % i, payload, qos=1, timeout=20)
        self.assert_others_served()
        time.sleep(0.5)
        for i, payload in enumerate(payloads):
            got = ih.parse_publish(reader.read_packet(timeout=20))
            self.assertEqual((got.topic, digest(got.payload)), ("slow/%d" % i, digest(payload)))

    def close_mid_record(self, sock, data):
        """Sends the first half of the TLS records that carry `data`, then closes the TCP connection."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = h.client_ssl_context(self.pki.ca_file).wrap_bio(incoming, outgoing, server_hostname="localhost")
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                chunk = sock.recv(65536)
                self.assertTrue(chunk, "the broker closed the connection during the handshake")
                incoming.write(chunk)
        sock.sendall(outgoing.read())
        tls.write(data)
        record = outgoing.read()
        sock.sendall(record[:len(record) // 2])
        time.sleep(0.2)
        sock.close()

    def test_peer_closing_mid_record(self):
        """Over tls the record holds CONNECT; over tls, after a CONNECT, a PUBLISH; then the TCP connection
        ends. The broker drops that connection (logging it) and serves the rest."""
        sub = self.tls_client("mid-record-watcher")
        sub.subscribe("mid/#", qos=0)
        self.close_mid_record(socket.create_connection(("127.0.0.1", self.tls)), ih.connect_packet("half-connect"))
        self.close_mid_record(socket.create_connection(("127.0.0.1", self.tls)),
                              ih.connect_packet("half-publish") + ih.publish_packet("mid/x", b"y" * 50000))
        self.broker.wait_log("event=read_failed", "half-publish")
        self.assert_others_served()
        sub.client.publish("mid/marker", b"m", qos=0)
        self.assertEqual(sub.expect_message("mid/marker").payload, b"m", "a half-sent PUBLISH was delivered")

    def test_garbage_instead_of_handshake(self):
        """Bytes that are not a ClientHello (an HTTP request, then random bytes) on the tls and wss ports:
        the handshake fails at once, long before connect_timeout, and the broker says why."""
        for port in (self.tls, self.wss):
            for garbage in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096)):
                started = time.monotonic()
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    try:
                        s.sendall(garbage)
                        while s.recv(4096):
                            pass
                    except (ConnectionResetError, BrokenPipeError):
                        pass
                self.assertLess(time.monotonic() - started, 3, "the broker held a garbage connection open")
        self.broker.wait_log("event=handshake_failed")
        self.assert_others_served()

    def test_broker_sends_close_notify_when_it_closes(self):
        """A CONNECT with protocol level 5 gets CONNACK 1 [MQTT-3.1.2-2] and the broker closes; its TLS stream
        ends with close_notify, so the client sees a clean end of stream, not a truncated one."""
        client = self.raw_tls()
        client.send(ih.connect_packet("v5-client", protocol_level=5))
        connack = client.expect(ih.CONNACK)
        self.assertEqual(connack.body[1], 1)
        with self.assertRaises(ih.ConnectionClosed):  # an SSLEOFError here would mean no close_notify
            client.read_packet(timeout=5)


if __name__ == "__main__":
    h.run()
