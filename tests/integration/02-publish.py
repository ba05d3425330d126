#!/usr/bin/python3
"""PUBLISH: QoS 0/1/2 end to end with paho, mosquitto_pub/_sub and byte-exact raw flows."""

import os

import harness
from harness import (BrokerTestCase, packet, publish_packet, puback_packet, pubrec_packet, pubrel_packet,
                     pubcomp_packet)

FMT = "MSG|%t|%q|%r|%p"   # mosquitto_sub -F: topic, QoS, retain flag, payload


def parse_fmt_lines(lines):
    """[(topic, qos, retain, payload)] from mosquitto_sub -F FMT output lines."""
    out = []
    for line in lines:
        if line.startswith("MSG|"):
            _, topic, qos, retain, payload = line.split("|", 4)
            out.append((topic, int(qos), int(retain), payload))
    return out


class Publish(BrokerTestCase):
    def test_qos_matrix_paho(self):
        """Every published QoS x granted QoS: delivered once at the lesser of the two [MQTT-3.8.4-6]."""
        publisher = self.paho("pub-matrix")
        subscribers = {}
        for sub_qos in range(3):
            s = self.paho("sub-matrix-%d" % sub_qos)
            self.assertEqual(s.subscribe("matrix/%d/+" % sub_qos, sub_qos), sub_qos, "granted QoS [MQTT-3.9.3-1]")
            subscribers[sub_qos] = s
        for sub_qos in range(3):
            for pub_qos in range(3):
                publisher.publish("matrix/%d/%d" % (sub_qos, pub_qos), b"p%d s%d" % (pub_qos, sub_qos), qos=pub_qos)
        for sub_qos, s in subscribers.items():
            got = sorted((m.topic, m.payload, m.qos) for m in s.expect_messages(3))
            expected = sorted(("matrix/%d/%d" % (sub_qos, p), b"p%d s%d" % (p, sub_qos), min(p, sub_qos))
                              for p in range(3))
            self.assertEqual(got, expected, "delivered QoS = min(published, granted) [MQTT-3.8.4-6]")
            s.assert_no_message(0.2, "beyond the 3 published (no duplicates)")

    def test_qos_matrix_mosquitto_clients(self):
        """mosquitto_pub -> mosquitto_sub for every QoS pair [MQTT-3.8.4-6]."""
        subs = {q: self.mosquitto_sub("mmatrix/%d/+" % q, qos=q, count=3, fmt=FMT) for q in range(3)}
        for sub_qos in range(3):
            for pub_qos in range(3):
                self.mosquitto_pub("mmatrix/%d/%d" % (sub_qos, pub_qos), "p%d" % pub_qos, qos=pub_qos)
        for sub_qos, s in subs.items():
            rc, lines = s.wait()
            self.assertEqual(rc, 0, "mosquitto_sub exit status (3 messages before -W): %s" % s.output())
            got = sorted(parse_fmt_lines(lines))
            expected = sorted(("mmatrix/%d/%d" % (sub_qos, p), min(p, sub_qos), 0, "p%d" % p) for p in range(3))
            self.assertEqual(got, expected, "(topic, delivered QoS, retain, payload) [MQTT-3.8.4-6]")

    def test_mosquitto_pub_to_paho(self):
        s = self.paho("sub-from-cli")
        s.subscribe("cli/to/paho", 2)
        self.mosquitto_pub("cli/to/paho", "from mosquitto_pub", qos=2)
        m = s.expect_message()
        self.assertEqual((m.topic, m.payload, m.qos, m.retain), ("cli/to/paho", b"from mosquitto_pub", 2, False))

    def test_paho_to_mosquitto_sub(self):
        s = self.mosquitto_sub("paho/to/cli", qos=1, count=1, fmt=FMT)
        p = self.paho("pub-to-cli")
        p.publish("paho/to/cli", b"from paho", qos=1)
        rc, lines = s.wait()
        self.assertEqual(rc, 0, s.output())
        self.assertEqual(parse_fmt_lines(lines), [("paho/to/cli", 1, 0, "from paho")])

    def test_raw_qos1_flow(self):
        sub = self.raw_connected("raw-sub-q1")
        self.raw_subscribe(sub, 0x0101, [("raw/q1", 1)])
        pub = self.raw_connected("raw-pub-q1")
        pub.send(publish_packet("raw/q1", b"one", qos=1, packet_id=0x1234))
        pub.expect_bytes(b"\x40\x02\x12\x34", why="(PUBACK with the PUBLISH's packet id) [MQTT-4.3.2-2]")
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.qos, m.retain, m.dup), ("raw/q1", b"one", 1, False, False),
                         "delivered PUBLISH [MQTT-3.3.1-9][MQTT-3.3.1-3]")
        self.assertNotEqual(m.packet_id, 0, "packet id of a QoS 1 PUBLISH [MQTT-2.3.1-1]")
        sub.send(puback_packet(m.packet_id))
        sub.expect_open("after PUBACK: nothing resent")
        pub.expect_open("after the QoS 1 flow")

    def test_raw_qos2_flow(self):
        sub = self.raw_connected("raw-sub-q2")
        self.raw_subscribe(sub, 0x0202, [("raw/q2", 2)])
        pub = self.raw_connected("raw-pub-q2")
        pub.send(publish_packet("raw/q2", b"two", qos=2, packet_id=0x0102))
        pub.expect_bytes(b"\x50\x02\x01\x02", why="(PUBREC with the PUBLISH's packet id) [MQTT-4.3.3-2]")
        pub.send(pubrel_packet(0x0102))
        pub.expect_bytes(b"\x70\x02\x01\x02", why="(PUBCOMP with the PUBREL's packet id) [MQTT-4.3.3-2]")
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.qos, m.retain, m.dup), ("raw/q2", b"two", 2, False, False))
        sub.send(pubrec_packet(m.packet_id))
        sub.expect_bytes(packet(0x62, m.packet_id.to_bytes(2, "big")),
                         why="(PUBREL, flags 0010, same packet id) [MQTT-3.6.1-1][MQTT-4.3.3-1]")
        sub.send(pubcomp_packet(m.packet_id))
        sub.expect_open("after PUBCOMP: nothing resent")

    def test_overlapping_subscriptions_deliver_once_at_highest_qos(self):
        s = self.raw_connected("overlap-sub")
        self.raw_subscribe(s, 1, [("ov/#", 1)])
        self.raw_subscribe(s, 2, [("ov/+", 2)])
        p = self.paho("overlap-pub")
        p.publish("ov/x", b"once", qos=2)
        p.publish("ov/x", b"marker", qos=2)
        got = s.receive_publishes("marker")
        self.assertEqual([(m.payload, m.qos) for m in got], [(b"once", 2)],
                         "one delivery at the highest granted QoS of the overlapping subscriptions [MQTT-3.3.5-1]")

    def test_one_mib_payload_intact(self):
        payload = os.urandom(1 << 20)
        s = self.paho("big-sub")
        s.subscribe("big/t", 1)
        p = self.paho("big-pub")
        p.publish("big/t", payload, qos=1, timeout=20)
        m = s.expect_message(timeout=20)
        self.assertEqual(len(m.payload), len(payload), "payload length")
        self.assertTrue(m.payload == payload, "1 MiB payload changed in transit")

    def test_dollar_topics_not_matched_by_leading_wildcards(self):
        everything = self.paho("dollar-hash")
        everything.subscribe("#", 1)
        plus = self.paho("dollar-plus")
        plus.subscribe("+/x", 1)
        dollar = self.paho("dollar-explicit")
        dollar.subscribe("$test/#", 1)
        p = self.paho("dollar-pub")
        p.publish("$test/x", b"dollar", qos=1)
        p.publish("marker/x", b"marker", qos=1)
        m = dollar.expect_message(why="on $test/# (positive control)")
        self.assertEqual((m.topic, m.payload), ("$test/x", b"dollar"))
        for name, c in (("#", everything), ("+/x", plus)):
            got = [(m.topic, m.payload) for m in c.messages_before("marker")]
            self.assertEqual(got, [], "filter %r must not match a topic starting with $ [MQTT-4.7.2-1]" % name)


if __name__ == "__main__":
    harness.run()
