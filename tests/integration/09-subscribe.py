#!/usr/bin/python3
"""SUBSCRIBE / UNSUBSCRIBE: return codes, packet ids, delivery stops, malformed requests close."""

import harness
from harness import BrokerTestCase, packet, subscribe_packet, unsubscribe_packet, encode_string


class Subscribe(BrokerTestCase):
    def test_suback_return_codes_match_requested_qos(self):
        c = self.raw_connected("sub-codes")
        c.send(subscribe_packet(0x1234, [("s/0", 0), ("s/1", 1), ("s/2", 2), ("s/+/#", 1)]))
        c.expect_bytes(b"\x90\x06\x12\x34\x00\x01\x02\x01",
                       why="(SUBACK: same packet id, one return code per filter, in order, granting the "
                           "requested QoS) [MQTT-3.8.4-1][MQTT-3.8.4-2][MQTT-3.8.4-5][MQTT-3.9.3-1]")

    def test_subscribe_replaces_existing_subscription_qos(self):
        # [MQTT-3.8.4-3] an identical filter replaces the subscription; its QoS is the new one.
        c = self.raw_connected("sub-replace")
        self.raw_subscribe(c, 1, [("rep/t", 2)])
        self.raw_subscribe(c, 2, [("rep/t", 0)])
        p = self.paho("sub-pub")
        p.publish("rep/t", b"now qos 0", qos=2)
        p.publish("rep/t", b"marker", qos=2)
        got = c.receive_publishes("marker")
        self.assertEqual([(m.payload, m.qos) for m in got], [(b"now qos 0", 0)],
                         "one delivery, at the replaced subscription's QoS 0 [MQTT-3.8.4-3]")

    def test_unsubscribe_stops_delivery(self):
        c = self.raw_connected("unsub")
        self.raw_subscribe(c, 1, [("u/t", 1), ("u/marker", 1)])
        p = self.paho("unsub-pub")
        p.publish("u/t", b"before", qos=1)
        m = c.expect_publish()
        self.assertEqual(m.payload, b"before")
        c.send(harness.puback_packet(m.packet_id))
        c.send(unsubscribe_packet(0x4242, ["u/t"]))
        c.expect_bytes(b"\xb0\x02\x42\x42", why="(UNSUBACK with the UNSUBSCRIBE's packet id) [MQTT-3.10.4-4]")
        p.publish("u/t", b"after", qos=1)
        p.publish("u/marker", b"marker", qos=1)
        self.assertEqual(c.receive_publishes("marker"), [],
                         "no delivery on an unsubscribed filter [MQTT-3.10.4-1][MQTT-3.10.4-2]")

    def test_unsubscribe_unknown_filter_gets_unsuback(self):
        c = self.raw_connected("unsub-unknown")
        c.send(unsubscribe_packet(0x0909, ["never/subscribed", "a/+"]))
        c.expect_bytes(b"\xb0\x02\x09\x09", why="(UNSUBACK even when nothing matched) [MQTT-3.10.4-5]")

    def test_unsubscribe_with_paho_and_mosquitto_clients(self):
        s = self.paho("unsub-paho")
        s.subscribe("up/t", 1)
        self.mosquitto_pub("up/t", "one", qos=1)
        self.assertEqual(s.expect_message().payload, b"one")
        s.unsubscribe("up/t")
        s.subscribe("up/marker", 1)
        self.mosquitto_pub("up/t", "two", qos=1)
        self.mosquitto_pub("up/marker", "marker", qos=1)
        self.assertEqual(s.messages_before("marker"), [], "no delivery after UNSUBSCRIBE [MQTT-3.10.4-1]")

    def test_invalid_topic_filters_close_the_connection(self):
        for bad in ("a/#/b", "a/b#", "a+/b", "#/a", ""):
            with self.subTest(topic_filter=bad):
                c = self.raw_connected("sub-invalid")
                c.send(subscribe_packet(7, [(bad, 0)]), tolerate_close=True)
                c.expect_closed(why="without SUBACK for the invalid filter %r [MQTT-4.7.1-2][MQTT-4.7.1-3]"
                                    "[MQTT-4.7.3-1]" % bad)

    def test_subscribe_without_payload_closes(self):
        c = self.raw_connected("sub-empty")
        c.send(packet(0x82, b"\x00\x01"), tolerate_close=True)
        c.expect_closed(why="for a SUBSCRIBE with no topic filter [MQTT-3.8.3-3]")

    def test_unsubscribe_without_payload_closes(self):
        c = self.raw_connected("unsub-empty")
        c.send(packet(0xA2, b"\x00\x01"), tolerate_close=True)
        c.expect_closed(why="for an UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]")

    def test_subscribe_reserved_flags_close(self):
        c = self.raw_connected("sub-flags")
        c.send(packet(0x80, b"\x00\x01" + encode_string("a/b") + b"\x00"), tolerate_close=True)
        c.expect_closed(why="for SUBSCRIBE with fixed-header flags 0000 [MQTT-3.8.1-1]")

    def test_subscribe_requested_qos_3_closes(self):
        c = self.raw_connected("sub-qos3")
        c.send(subscribe_packet(3, [("a/b", 3)]), tolerate_close=True)
        c.expect_closed(why="for a requested QoS of 3 [MQTT-3.8.3-4]")

    def test_subscribe_packet_id_0_closes(self):
        c = self.raw_connected("sub-id0")
        c.send(subscribe_packet(0, [("a/b", 0)]), tolerate_close=True)
        c.expect_closed(why="for SUBSCRIBE with packet id 0 [MQTT-2.3.1-1]")


if __name__ == "__main__":
    harness.run()
