#!/usr/bin/python3
"""MQTT over WebSocket with python3-paho-mqtt (transport="websockets"): ws on ::1 and wss on 127.0.0.1, QoS 0/1/2
round trips, and WebSocket and TCP clients sharing messages and retained messages.

[MQTT-6.0.0-1] MQTT travels in binary WebSocket frames; [MQTT-6.0.0-3] paho offers the "mqtt" subprotocol and
[MQTT-6.0.0-4] the broker selects it; the rest of MQTT is unchanged over this transport [MQTT-4.2-1]."""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class WebSocketWithPaho(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        if not h.has_ipv6_loopback():
            raise unittest.SkipTest("no IPv6 loopback (::1) on this machine")
        self.broker = self.start_broker([h.tcp_listener(), h.ws_listener(bind="::1"), h.wss_listener(self.pki)])
        self.tcp, self.ws, self.wss = (self.broker.port(i) for i in range(3))

    def ws_client(self, name):
        return self.paho(self.ws, host="::1", client_id=name, transport="websockets").connect()

    def wss_client(self, name):
        return self.paho(self.wss, host="127.0.0.1", client_id=name, transport="websockets",
                         tls={"ca_certs": self.pki.ca_file}).connect()

    def tcp_client(self, name):
        return self.paho(self.tcp, client_id=name).connect()

    def round_trip(self, client, prefix):
        """[MQTT-3.8.4-6] the client subscribes at QoS 2 and gets each message back at the QoS it was sent."""
        self.assertEqual(client.subscribe(prefix + "/#", qos=2), (2,))
        for qos in (0, 1, 2):
            topic, payload = "%s/q%d" % (prefix, qos), ("qos %d over %s" % (qos, prefix)).encode()
            client.publish(topic, payload, qos=qos)
            msg = client.expect_message(topic)
            self.assertEqual((msg.payload, msg.qos, msg.retain), (payload, qos, False))

    def test_ws_ipv6_qos_round_trips(self):
        self.round_trip(self.ws_client("ws-rt"), "ws")
        self.broker.wait_log("event=connect", 'client_id="ws-rt"', "::1")

    def test_wss_qos_round_trips(self):
        self.round_trip(self.wss_client("wss-rt"), "wss")

    def test_ws_wss_and_tcp_exchange(self):
        ws, wss, tcp = self.ws_client("ws-x"), self.wss_client("wss-x"), self.tcp_client("tcp-x")
        for c in (ws, wss, tcp):
            c.subscribe("x/#", qos=1)
        for sender, name in ((ws, "ws"), (wss, "wss"), (tcp, "tcp")):
            topic = "x/from-" + name
            sender.publish(topic, b"hello from " + name.encode(), qos=1)
            for receiver in (ws, wss, tcp):
                msg = receiver.expect_message(topic)
                self.assertEqual(msg.payload, b"hello from " + name.encode())

    def test_retained_between_ws_and_tcp(self):
        """[MQTT-3.3.1-6] [MQTT-3.3.1-8] a new subscription gets the retained message with RETAIN set."""
        tcp = self.tcp_client("tcp-r")
        tcp.publish("r/from-tcp", b"kept by tcp", qos=1, retain=True)
        ws = self.ws_client("ws-r")
        ws.publish("r/from-ws", b"kept by ws", qos=1, retain=True)

        ws_late = self.ws_client("ws-late")
        ws_late.subscribe("r/from-tcp", qos=1)
        msg = ws_late.expect_message("r/from-tcp")
        self.assertEqual((msg.payload, msg.retain), (b"kept by tcp", True))
        tcp_late = self.tcp_client("tcp-late")
        tcp_late.subscribe("r/from-ws", qos=1)
        msg = tcp_late.expect_message("r/from-ws")
        self.assertEqual((msg.payload, msg.retain), (b"kept by ws", True))

    def test_large_binary_payload_over_ws_and_wss(self):
        """300 KB spans many TCP segments and TLS records; arbitrary bytes, including ones invalid as UTF-8."""
        payload = os.urandom(300 * 1024)
        for client, prefix in ((self.ws_client("ws-big"), "big-ws"), (self.wss_client("wss-big"), "big-wss")):
            client.subscribe(prefix, qos=1)
            client.publish(prefix, payload, qos=1)
            msg = client.expect_message(prefix, timeout=20)
            self.assertEqual(hashlib.sha256(msg.payload).hexdigest(), hashlib.sha256(payload).hexdigest())


if __name__ == "__main__":
    h.run()
