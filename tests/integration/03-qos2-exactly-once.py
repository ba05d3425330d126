#!/usr/bin/python3
"""Inbound QoS 2 is exactly once: a PUBLISH resent before PUBREL (same connection or after a reconnect)
is delivered to subscribers once [MQTT-4.3.3-2]."""

import harness
from harness import BrokerTestCase, publish_packet, pubrel_packet


class ExactlyOnce(BrokerTestCase):
    def _subscriber(self, topic):
        s = self.paho("eo-sub")
        self.assertEqual(s.subscribe(topic, 2), 2)
        return s

    def test_resend_after_reconnect_is_delivered_once(self):
        s = self._subscriber("eo/t")
        pub = self.raw()
        sp, rc = pub.connect("eo-pub", clean_session=False)
        self.assertEqual((sp, rc), (False, 0))
        pub.send(publish_packet("eo/t", b"exactly once", qos=2, packet_id=7))
        pub.expect_bytes(b"\x50\x02\x00\x07", why="(PUBREC for packet id 7)")
        pub.close()     # dropped before PUBREL

        pub = self.raw()
        sp, rc = pub.connect("eo-pub", clean_session=False)
        self.assertEqual((sp, rc), (True, 0), "the publisher's persistent session resumes [MQTT-3.2.2-2]")
        pub.send(publish_packet("eo/t", b"exactly once", qos=2, dup=True, packet_id=7))
        pub.expect_bytes(b"\x50\x02\x00\x07", why="(PUBREC for the resent packet id 7) [MQTT-4.3.3-2]")
        pub.send(pubrel_packet(7))
        pub.expect_bytes(b"\x70\x02\x00\x07", why="(PUBCOMP for packet id 7) [MQTT-4.3.3-2]")
        pub.send(publish_packet("eo/t", b"marker", qos=2, packet_id=8))
        pub.expect_bytes(b"\x50\x02\x00\x08")
        pub.send(pubrel_packet(8))
        pub.expect_bytes(b"\x70\x02\x00\x08")

        got = [(m.payload, m.qos) for m in s.messages_before("marker")]
        self.assertEqual(got, [(b"exactly once", 2)],
                         "QoS 2 message resent after a reconnect must reach the subscriber once [MQTT-4.3.3-2]")

    def test_resend_on_same_connection_is_delivered_once(self):
        s = self._subscriber("eo/same")
        pub = self.raw_connected("eo-pub-same")
        pub.send(publish_packet("eo/same", b"once", qos=2, packet_id=9))
        pub.expect_bytes(b"\x50\x02\x00\x09", why="(PUBREC for packet id 9)")
        pub.send(publish_packet("eo/same", b"once", qos=2, dup=True, packet_id=9))
        pub.expect_bytes(b"\x50\x02\x00\x09", why="(PUBREC again for the resent packet id 9) [MQTT-4.3.3-2]")
        pub.send(pubrel_packet(9))
        pub.expect_bytes(b"\x70\x02\x00\x09", why="(PUBCOMP for packet id 9)")
        # After PUBCOMP the id is free again: the same id is a new message [MQTT-4.3.3-2].
        pub.send(publish_packet("eo/same", b"new with id 9", qos=2, packet_id=9))
        pub.expect_bytes(b"\x50\x02\x00\x09")
        pub.send(pubrel_packet(9))
        pub.expect_bytes(b"\x70\x02\x00\x09")
        # The marker is QoS 2 too: paho hands a QoS 2 message to the application only at PUBREL.
        pub.send(publish_packet("eo/same", b"marker", qos=2, packet_id=10))
        pub.expect_bytes(b"\x50\x02\x00\x0a")
        pub.send(pubrel_packet(10))
        pub.expect_bytes(b"\x70\x02\x00\x0a")

        got = [m.payload for m in s.messages_before("marker")]
        self.assertEqual(got, [b"once", b"new with id 9"],
                         "a QoS 2 PUBLISH resent before PUBREL is delivered once; after PUBCOMP the id "
                         "starts a new message [MQTT-4.3.3-2]")

    def test_pubrel_for_unknown_id_gets_pubcomp(self):
        # [MQTT-4.3.3-2] the receiver answers PUBREL with PUBCOMP; a PUBREL the server does not know of (e.g.
        # its state was discarded) must still be completed so the client can free the id.
        pub = self.raw_connected("eo-unknown")
        pub.send(pubrel_packet(0x0777))
        pub.expect_bytes(b"\x70\x02\x07\x77", why="(PUBCOMP for a PUBREL with an unknown packet id)")


if __name__ == "__main__":
    harness.run()
