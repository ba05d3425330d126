#!/usr/bin/python3
"""Persistent sessions (clean session 0): subscriptions and QoS 1/2 messages survive a disconnect;
unacknowledged PUBLISH and PUBREL are resent on reconnect, in order; clean session 1 discards it all."""

import harness
from harness import BrokerTestCase, PUBREL, puback_packet, pubrec_packet, pubcomp_packet, packet


class PersistentSession(BrokerTestCase):
    def _offline_subscriber(self, client_id, filters):
        s = self.paho(client_id, clean_session=False)
        self.assertFalse(s.session_present, "new session: session present 0 [MQTT-3.2.2-3]")
        for topic_filter, qos in filters:
            self.assertEqual(s.subscribe(topic_filter, qos), qos)
        s.disconnect()

    def test_queued_messages_delivered_on_reconnect(self):
        self._offline_subscriber("ps-sub", [("ps/q1", 1), ("ps/q2", 2)])
        p = self.paho("ps-pub")
        expected = {"ps/q1": [], "ps/q2": []}
        for i in range(20):
            topic, qos = ("ps/q1", 1) if i % 2 == 0 else ("ps/q2", 2)
            p.publish(topic, b"m%02d" % i, qos=qos)
            expected[topic].append((b"m%02d" % i, qos))
            if i % 5 == 0:
                p.publish("ps/q1", b"qos0 %02d" % i, qos=0)   # QoS 0 for an offline client need not be kept

        s = self.paho("ps-sub", clean_session=False)
        self.assertTrue(s.session_present, "resumed session: session present 1 [MQTT-3.2.2-2]")
        got = {"ps/q1": [], "ps/q2": []}
        deadline = harness.time.monotonic() + 10
        while len(got["ps/q1"]) + len(got["ps/q2"]) < 20:
            m = s.expect_message(timeout=max(0.1, deadline - harness.time.monotonic()),
                                 why="(queued while offline; got %s so far)" % got)
            if m.qos == 0:
                continue
            got[m.topic].append((m.payload, m.qos))
        for topic in expected:
            self.assertEqual(got[topic], expected[topic],
                             "QoS 1/2 messages queued for the offline session on %s, all and in order "
                             "[MQTT-3.1.2-5][MQTT-4.6.0-5]" % topic)

        # The subscriptions survived too [MQTT-3.1.2-4]: no SUBSCRIBE was sent on this connection.
        p.publish("ps/q2", b"live", qos=2)
        m = s.expect_message(why="(live, on the subscription kept by the session) [MQTT-3.1.2-4]")
        while m.qos == 0:
            m = s.expect_message()
        self.assertEqual((m.topic, m.payload, m.qos), ("ps/q2", b"live", 2))

    def test_clean_session_discards_the_session(self):
        self._offline_subscriber("ps-clean", [("ps/c", 1)])
        p = self.paho("ps-pub")
        for i in range(3):
            p.publish("ps/c", b"queued %d" % i, qos=1)
        s = self.paho("ps-clean", clean_session=True)
        self.assertFalse(s.session_present, "clean session 1: session present 0 [MQTT-3.2.2-1]")
        s.subscribe("ps/marker", 1)
        p.publish("ps/marker", b"marker", qos=1)
        self.assertEqual(s.messages_before("marker"), [],
                         "clean session 1 discards the queued messages [MQTT-3.1.2-6]")
        s.disconnect()
        s = self.paho("ps-clean", clean_session=False)
        self.assertFalse(s.session_present, "the old session is gone: session present 0 [MQTT-3.1.2-6]")
        s.subscribe("ps/marker", 1)
        p.publish("ps/c", b"after", qos=1)
        p.publish("ps/marker", b"marker", qos=1)
        self.assertEqual(s.messages_before("marker"), [],
                         "the old subscription to ps/c was discarded with the session [MQTT-3.1.2-6]")

    def test_unacknowledged_publishes_resent_with_dup_in_order(self):
        sub = self.raw()
        self.assertEqual(sub.connect("ps-raw", clean_session=False), (False, 0))
        self.raw_subscribe(sub, 1, [("inf/#", 2)])
        p = self.paho("ps-pub")
        sent = [("inf/a", b"one", 1), ("inf/b", b"two", 2), ("inf/a", b"three", 1), ("inf/b", b"four", 2),
                ("inf/a", b"five", 1)]
        for topic, payload, qos in sent:
            p.publish(topic, payload, qos=qos)
        first = [sub.expect_publish() for _ in sent]
        self.assertEqual([(m.topic, m.payload, m.qos, m.dup) for m in first],
                         [(t, pl, q, False) for t, pl, q in sent], "first delivery, DUP 0 [MQTT-3.3.1-2]")
        self.assertEqual(len({m.packet_id for m in first}), len(first), "distinct packet ids [MQTT-2.3.1-2]")
        sub.close()     # nothing acknowledged

        sub = self.raw()
        self.assertEqual(sub.connect("ps-raw", clean_session=False), (True, 0), "session present 1")
        again = [sub.expect_publish(why="(resend of unacknowledged PUBLISH) [MQTT-4.4.0-1]") for _ in sent]
        self.assertEqual([(m.topic, m.payload, m.qos, m.dup, m.packet_id) for m in again],
                         [(m.topic, m.payload, m.qos, True, m.packet_id) for m in first],
                         "unacknowledged PUBLISH resent with DUP 1, same packet ids, original order "
                         "[MQTT-4.4.0-1][MQTT-3.3.1-1][MQTT-4.6.0-1]")
        for m in again:
            if m.qos == 1:
                sub.send(puback_packet(m.packet_id))
            else:
                sub.send(pubrec_packet(m.packet_id))
                sub.expect_bytes(packet(0x62, m.packet_id.to_bytes(2, "big")), why="(PUBREL)")
                sub.send(pubcomp_packet(m.packet_id))
        sub.expect_open("after acknowledging every resent message")
        sub.close()

        sub = self.raw()
        self.assertEqual(sub.connect("ps-raw", clean_session=False), (True, 0))
        sub.expect_open("(nothing left to resend once acknowledged)")

    def test_pubrel_resent_on_reconnect(self):
        sub = self.raw()
        self.assertEqual(sub.connect("ps-pubrel", clean_session=False), (False, 0))
        self.raw_subscribe(sub, 1, [("rel/t", 2)])
        p = self.paho("ps-pub")
        p.publish("rel/t", b"qos2", qos=2)
        m = sub.expect_publish()
        self.assertEqual((m.payload, m.qos), (b"qos2", 2))
        sub.send(pubrec_packet(m.packet_id))
        pubrel = packet(0x62, m.packet_id.to_bytes(2, "big"))
        sub.expect_bytes(pubrel, why="(PUBREL after PUBREC)")
        sub.close()     # no PUBCOMP

        sub = self.raw()
        self.assertEqual(sub.connect("ps-pubrel", clean_session=False), (True, 0))
        sub.expect_bytes(pubrel, why="(PUBREL resent, not the PUBLISH, after PUBREC was received) "
                                     "[MQTT-4.4.0-1][MQTT-4.3.3-1]")
        sub.send(pubcomp_packet(m.packet_id))
        sub.expect_open("after PUBCOMP: the flow is complete")

    def test_mixed_resend_order(self):
        # One message acknowledged with PUBREC (so PUBREL is due), the others not acknowledged at all: on
        # reconnect the PUBLISHes come back in their original order and the PUBREL is resent
        # [MQTT-4.4.0-1][MQTT-4.6.0-1]. (How PUBREL interleaves with the PUBLISHes is not asserted: the spec
        # orders PUBLISH among PUBLISH and PUBREL among PUBREL [MQTT-4.6.0-3].)
        sub = self.raw()
        self.assertEqual(sub.connect("ps-mixed", clean_session=False), (False, 0))
        self.raw_subscribe(sub, 1, [("mix/t", 2)])
        p = self.paho("ps-pub")
        for payload in (b"a", b"b", b"c"):
            p.publish("mix/t", payload, qos=2)
        a, b, c = [sub.expect_publish() for _ in range(3)]
        sub.send(pubrec_packet(b.packet_id))
        sub.expect_bytes(packet(0x62, b.packet_id.to_bytes(2, "big")), why="(PUBREL for b)")
        sub.close()

        sub = self.raw()
        self.assertEqual(sub.connect("ps-mixed", clean_session=False), (True, 0))
        got = [sub.read_packet() for _ in range(3)]
        publishes = [q.raw for q in got if q.type == harness.PUBLISH]
        pubrels = [q.raw for q in got if q.type == PUBREL]
        self.assertEqual(publishes, [harness.publish_packet("mix/t", b"a", 2, dup=True, packet_id=a.packet_id),
                                     harness.publish_packet("mix/t", b"c", 2, dup=True, packet_id=c.packet_id)],
                         "unacknowledged PUBLISH a and c resent byte for byte with DUP 1, in order "
                         "[MQTT-4.4.0-1][MQTT-4.6.0-1]; got %s" % [str(q) for q in got])
        self.assertEqual(pubrels, [packet(0x62, b.packet_id.to_bytes(2, "big"))],
                         "PUBREL for b resent [MQTT-4.4.0-1]; got %s" % [str(q) for q in got])
        sub.send(pubrec_packet(a.packet_id))
        sub.send(pubcomp_packet(b.packet_id))
        sub.send(pubrec_packet(c.packet_id))
        for m in (a, c):
            sub.expect_bytes(packet(0x62, m.packet_id.to_bytes(2, "big")))
            sub.send(pubcomp_packet(m.packet_id))
        sub.expect_open("after completing every flow")

    def test_max_queued_messages_limits_the_offline_queue(self):
        # README: max_queued_messages is the number of QoS 1/2 messages held for an offline client; past it
        # a message is dropped for that client. The oldest are kept (as Mosquitto does).
        # One worker: a PUBACK tells the publisher its message was taken, not that another worker has queued it
        # yet, so with two a late delivery could find the session back online with room (seen under load).
        b = self.start_broker(max_queued_messages=5, max_inflight=2, threads=1)
        s = self.paho("ps-limit", port=b.port, clean_session=False)
        s.subscribe("lim/t", 1)
        s.disconnect()
        p = self.paho("ps-pub", port=b.port)
        for i in range(12):
            p.publish("lim/t", b"%d" % i, qos=1)
        s = self.paho("ps-limit", port=b.port, clean_session=False)
        self.assertTrue(s.session_present)
        s.subscribe("lim/marker", 1)
        p.publish("lim/marker", b"marker", qos=1)
        got = [m.payload for m in s.messages_before("marker")]
        self.assertEqual(got, [b"0", b"1", b"2", b"3", b"4"],
                         "with max_queued_messages 5, the first 5 queued messages are kept, in order")
        if not self.is_mosquitto:
            self.assertIn("event=message_dropped reason=queue_full", b.log_text(),
                          "README: a dropped message is logged")


if __name__ == "__main__":
    harness.run()
