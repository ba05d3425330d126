#!/usr/bin/python3
"""Protocol rules the session-ownership work fixed: acknowledge before forwarding, wills on takeover, the
MQTT 3.1 CONNACK, acknowledgements that do not fit their flow, and client strings in the log."""

import harness
from harness import (BrokerTestCase, PUBACK, PUBLISH, PUBREC, mqttd_only, not_under_mosquitto, packet,
                     publish_packet, puback_packet, pubrec_packet, pubcomp_packet)


class AcknowledgeThenForward(BrokerTestCase):
    def _ack_comes_first(self, qos, ack_type):
        c = self.raw_connected("self-echo-%d" % qos)
        self.raw_subscribe(c, 1, [("echo/%d" % qos, qos)])
        c.send(publish_packet("echo/%d" % qos, b"to myself", qos=qos, packet_id=7))
        first = c.read_packet()
        second = c.read_packet()
        self.assertEqual((first.type, second.type), (ack_type, PUBLISH),
                         "the acknowledgement of an incoming PUBLISH leaves before any copy of it, even to "
                         "the publisher itself, got %s then %s" % (first, second))

    @not_under_mosquitto("Mosquitto 2.0 writes the publisher's own copy before its PUBACK")
    def test_puback_before_the_publishers_own_copy(self):
        self._ack_comes_first(1, PUBACK)  # [MQTT-4.3.2-2]

    @not_under_mosquitto("Mosquitto 2.0 forwards a QoS 2 message only after PUBREL (method A)")
    def test_pubrec_before_the_publishers_own_copy(self):
        self._ack_comes_first(2, PUBREC)  # [MQTT-4.3.3-2]


class WillOnTakeover(BrokerTestCase):
    def _takeover(self, old_clean, new_clean):
        w = self.paho("will-watch-%d%d" % (old_clean, new_clean))
        w.subscribe("wot/#", 1)
        cid = "will-dev-%d%d" % (old_clean, new_clean)
        first = self.raw()
        first.connect(cid, clean_session=old_clean, will=("wot/will", b"gone", 1, False))
        second = self.raw()
        self.assertEqual(second.connect(cid, clean_session=new_clean)[1], 0)
        first.expect_closed(why="on takeover [MQTT-3.1.4-2]")
        # A marker published after the takeover: the will, if any, arrives before it.
        w.publish("wot/marker", b"marker", qos=1)
        return [m.topic for m in w.messages_before("marker")]

    def test_resumed_persistent_session_publishes_no_will(self):
        # Clean session 0 on both sides: the device is still there (Mosquitto's behaviour, MQTT 5's rule).
        self.assertEqual(self._takeover(False, False), [],
                         "no will when a persistent session is resumed by a takeover")

    def test_takeover_by_a_clean_session_publishes_the_will(self):
        self.assertEqual(self._takeover(False, True), ["wot/will"],
                         "the will of the old connection [MQTT-3.1.2-8]: the new one discards the session")

    def test_takeover_of_a_clean_session_publishes_the_will(self):
        self.assertEqual(self._takeover(True, False), ["wot/will"],
                         "the will of the old connection [MQTT-3.1.2-8]: its clean session ended")


class Mqtt31Connack(BrokerTestCase):
    def test_mqtt31_connack_has_no_session_present_flag(self):
        # MQTT 3.1 section 3.2: the first byte of the CONNACK variable header is reserved (0), even when a
        # session is resumed.
        first = self.raw()
        first.connect("v31-dev", clean_session=False, protocol_name="MQIsdp", protocol_level=3)
        first.disconnect()
        again = self.raw()
        again.send(harness.connect_packet("v31-dev", clean_session=False, protocol_name="MQIsdp",
                                          protocol_level=3))
        again.expect_bytes(b"\x20\x02\x00\x00", why="(MQTT 3.1 CONNACK resuming a session)")
        check = self.raw()
        self.assertEqual(check.connect("v311-dev", clean_session=False), (False, 0))
        check.disconnect()
        check = self.raw()
        self.assertEqual(check.connect("v311-dev", clean_session=False), (True, 0),
                         "MQTT 3.1.1 does report the session [MQTT-3.2.2-2]")


class WrongAcknowledgement(BrokerTestCase):
    def _receive_one(self, cid, qos):
        c = self.raw_connected(cid)
        self.raw_subscribe(c, 1, [("wrong/" + cid, qos)])
        self.mosquitto_pub("wrong/" + cid, "m", qos=qos)
        m = c.expect_publish()
        self.assertEqual(m.qos, qos)
        return c, m.packet_id

    def _expect_violation(self, c, answer, why):
        c.send(answer, tolerate_close=True)
        c.expect_closed(why=why)

    def test_pubrec_for_a_qos1_message_closes(self):
        c, pid = self._receive_one("rec-for-q1", 1)
        self._expect_violation(c, pubrec_packet(pid), "after PUBREC for a QoS 1 PUBLISH [MQTT-4.3.2-1]")

    def test_pubcomp_for_a_qos1_message_closes(self):
        c, pid = self._receive_one("comp-for-q1", 1)
        self._expect_violation(c, pubcomp_packet(pid), "after PUBCOMP for a QoS 1 PUBLISH [MQTT-4.3.2-1]")

    def test_puback_for_a_qos2_message_closes(self):
        c, pid = self._receive_one("ack-for-q2", 2)
        self._expect_violation(c, puback_packet(pid), "after PUBACK for a QoS 2 PUBLISH [MQTT-4.3.3-1]")

    def test_pubcomp_before_pubrec_closes(self):
        c, pid = self._receive_one("comp-first", 2)
        self._expect_violation(c, pubcomp_packet(pid), "after PUBCOMP before PUBREC [MQTT-4.3.3-1]")

    def test_ack_for_an_unknown_id_is_ignored(self):
        c = self.raw_connected("unknown-ack")
        c.send(puback_packet(4242))
        c.send(packet(0xC0))  # PINGREQ
        c.expect(harness.PINGRESP, why="(an acknowledgement for an id never used is ignored)")


class ClientStringsInTheLog(BrokerTestCase):
    @mqttd_only("mqttd's log format")
    def test_a_client_id_with_a_newline_cannot_forge_a_log_line(self):
        forged = "x\n2026-01-01T00:00:00.000Z level=info event=connect client_id=admin"
        c = self.raw()
        self.assertEqual(c.connect(forged)[1], 0)
        c.disconnect()
        self.broker.wait_log("event=disconnect", 'client_id="x\\n2026')
        for line in self.broker.log_text().splitlines():
            self.assertFalse(line.startswith("2026-01-01T00:00:00.000Z"),
                             "a client id must not start a log line of its own: %r" % line)
        self.assertIn('client_id="x\\n2026-01-01T00:00:00.000Z level=info event=connect client_id=admin"',
                      self.broker.log_text(), "the client id is quoted and its newline escaped")


if __name__ == "__main__":
    harness.run()
