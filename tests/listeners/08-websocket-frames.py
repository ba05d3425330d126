#!/usr/bin/python3
"""MQTT over WebSocket frame by frame, with a raw RFC 6455 client, so the test decides where frames cut packets.

[MQTT-6.0.0-1] MQTT is sent in binary frames: a text frame makes the server close the connection.
[MQTT-6.0.0-2] a frame may hold part of a packet, or several: the server must not assume they align."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402


class WebSocketFrames(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.start_broker([h.ws_listener()])
        self.port = self.broker.port(0)

    def open(self):
        ws = h.RawWebSocket("127.0.0.1", self.port)
        self.addCleanup(ws.close)
        return ws

    def test_connect_split_over_frames(self):
        ws = self.open()
        connect = h.connect_packet("split")
        ws.send_frame(h.OP_BINARY, connect[:1])
        ws.send_frame(h.OP_BINARY, connect[1:7])
        ws.send_frame(h.OP_BINARY, connect[7:])
        self.assertEqual(ws.recv_mqtt_stream(4), h.CONNACK_ACCEPTED)

    def test_several_packets_in_one_frame(self):
        ws = self.open()
        stream = (h.connect_packet("packed") + h.subscribe_packet(1, "f/#")
                  + h.publish_packet("f/one", b"first") + h.publish_packet("f/two", b"second"))
        ws.send_frame(h.OP_BINARY, stream)
        expected = (h.CONNACK_ACCEPTED + h.suback_packet(1, 0)
                    + h.publish_packet("f/one", b"first") + h.publish_packet("f/two", b"second"))
        self.assertEqual(ws.recv_mqtt_stream(len(expected)), expected)

    def test_packet_across_a_fragmented_message(self):
        """One WebSocket message in three fragments (binary, continuation, continuation)."""
        ws = self.open()
        stream = h.connect_packet("fragments") + h.subscribe_packet(7, "g")
        ws.send_frame(h.OP_BINARY, stream[:5], fin=False)
        ws.send_frame(h.OP_CONTINUATION, stream[5:20], fin=False)
        ws.send_frame(h.OP_CONTINUATION, stream[20:], fin=True)
        expected = h.CONNACK_ACCEPTED + h.suback_packet(7, 0)
        self.assertEqual(ws.recv_mqtt_stream(len(expected)), expected)

    def test_ping_frame_answered_between_packets(self):
        ws = self.open()
        ws.send_frame(h.OP_BINARY, h.connect_packet("pinger"))
        self.assertEqual(ws.recv_mqtt_stream(4), h.CONNACK_ACCEPTED)
        ws.send_frame(h.OP_PING, b"are you there")
        fin, opcode, payload = ws.recv_frame()
        self.assertEqual((opcode, payload), (h.OP_PONG, b"are you there"))

    def test_text_frame_closes_connection(self):
        ws = self.open()
        ws.send_frame(h.OP_BINARY, h.connect_packet("texter"))
        self.assertEqual(ws.recv_mqtt_stream(4), h.CONNACK_ACCEPTED)
        ws.send_frame(h.OP_TEXT, h.publish_packet("t", b"as text"))
        ws.expect_closed()
        self.broker.wait_log("event=disconnect", 'client_id="texter"')

    def test_text_frame_before_connect_gets_no_connack(self):
        ws = self.open()
        ws.send_frame(h.OP_TEXT, h.connect_packet("texter"))
        ws.expect_closed()
        self.assertEqual(self.broker.log_count("event=connect "), 0, self.broker.log_tail())

    def test_unmasked_client_frame_closes_connection(self):
        """RFC 6455 5.1: a server MUST close the connection on an unmasked frame from a client."""
        ws = self.open()
        ws.send_frame(h.OP_BINARY, h.connect_packet("unmasked"), masked=False)
        ws.expect_closed()


if __name__ == "__main__":
    h.run()
