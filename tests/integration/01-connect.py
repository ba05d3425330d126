#!/usr/bin/python3
"""CONNECT / CONNACK: validation of the first packet, protocol name and level, flags, session present."""

import time

import harness
from harness import BrokerTestCase, connect_packet, publish_packet, subscribe_packet, PINGREQ_PACKET

CONNACK_ACCEPTED = b"\x20\x02\x00\x00"


class Connect(BrokerTestCase):
    def test_valid_connect_gets_connack_0(self):
        c = self.raw()
        c.send(connect_packet("c-valid"))
        # [MQTT-3.2.0-1] the first packet from the server is CONNACK; [MQTT-3.2.2-3] return code 0.
        c.expect_bytes(CONNACK_ACCEPTED, why="for a valid CONNECT [MQTT-3.2.2-3]")
        c.expect_open("after CONNACK 0")

    def test_zero_length_client_id_with_clean_session_is_accepted(self):
        c = self.raw()
        c.send(connect_packet("", clean_session=True))
        c.expect_bytes(CONNACK_ACCEPTED, why="for an empty client id with clean session 1 [MQTT-3.1.3-6]")
        c.expect_open("with a server-assigned client id [MQTT-3.1.3-6]")

    def test_zero_length_client_id_without_clean_session_is_rejected(self):
        c = self.raw()
        c.send(connect_packet("", clean_session=False))
        c.expect_bytes(b"\x20\x02\x00\x02", why="(identifier rejected) for an empty client id with clean "
                       "session 0 [MQTT-3.1.3-8]")
        c.expect_closed(why="after CONNACK 0x02 [MQTT-3.2.2-5]")

    def test_unsupported_protocol_level_gets_connack_1(self):
        # Level 7 is unknown to both brokers (mosquitto also speaks 5, mqttd answers 5 the same way as 7).
        c = self.raw()
        c.send(connect_packet("c-level", protocol_level=7))
        c.expect_bytes(b"\x20\x02\x00\x01", why="(unacceptable protocol version) for level 7 [MQTT-3.1.2-2]")
        c.expect_closed(why="after CONNACK 0x01 [MQTT-3.1.2-2]")

    @harness.not_under_mosquitto("mosquitto 2 implements MQTT 5 and accepts level 5")
    def test_protocol_level_5_gets_connack_1(self):
        c = self.raw()
        c.send(connect_packet("c-level5", protocol_level=5))
        c.expect_bytes(b"\x20\x02\x00\x01", why="(unacceptable protocol version) for level 5 [MQTT-3.1.2-2]")
        c.expect_closed(why="after CONNACK 0x01 [MQTT-3.1.2-2]")

    def test_bad_protocol_name_closes_without_connack(self):
        for name in ("MQTX", "mqtt", "MQIsdp-"):
            with self.subTest(protocol_name=name):
                c = self.raw()
                c.send(connect_packet("c-name", protocol_name=name), tolerate_close=True)
                c.expect_closed(why="without CONNACK for protocol name %r [MQTT-3.1.2-1]" % name)

    def test_second_connect_closes_the_connection(self):
        c = self.raw_connected("c-twice")
        c.send(connect_packet("c-twice"))
        c.expect_closed(why="on a second CONNECT [MQTT-3.1.0-2]")

    def test_first_packet_not_connect_closes(self):
        cases = {
            "PINGREQ": PINGREQ_PACKET,
            "PUBLISH": publish_packet("a/b", b"x", qos=0),
            "SUBSCRIBE": subscribe_packet(1, [("a/b", 0)]),
        }
        for name, data in cases.items():
            with self.subTest(first_packet=name):
                c = self.raw()
                c.send(data, tolerate_close=True)
                c.expect_closed(why="when the first packet is %s, not CONNECT [MQTT-3.1.0-1]" % name)

    def test_reserved_connect_flag_closes(self):
        c = self.raw()
        c.send(connect_packet("c-reserved", flags=0x03), tolerate_close=True)   # clean session + reserved bit 0
        c.expect_closed(why="without CONNACK when the reserved connect flag is 1 [MQTT-3.1.2-3]")

    def test_password_without_username_closes(self):
        c = self.raw()
        c.send(connect_packet("c-pw", password="secret"), tolerate_close=True)
        c.expect_closed(why="without CONNACK for password flag 1 and username flag 0 [MQTT-3.1.2-22]")

    def test_will_qos_3_closes(self):
        c = self.raw()
        c.send(connect_packet("c-willqos", will=("w/t", b"x", 3, False)), tolerate_close=True)
        c.expect_closed(why="without CONNACK for will QoS 3 [MQTT-3.1.2-14]")

    def test_will_flags_without_will_flag_close(self):
        c = self.raw()
        # clean session + will retain, will flag 0 [MQTT-3.1.2-15]
        c.send(connect_packet("c-willret", flags=0x22), tolerate_close=True)
        c.expect_closed(why="without CONNACK for will retain 1 with will flag 0 [MQTT-3.1.2-15]")

    def test_legacy_mqisdp_3_is_accepted(self):
        c = self.raw()
        c.send(connect_packet("c-legacy", protocol_name="MQIsdp", protocol_level=3))
        c.expect_bytes(CONNACK_ACCEPTED, why="for a legacy MQIsdp/3 CONNECT")
        c.expect_open("for a legacy MQIsdp/3 client")
        # And a real MQTT 3.1 client (paho) can publish to itself.
        p = self.paho("c-legacy-paho", protocol=harness.paho.MQTTv31)
        self.assertEqual(p.connack, (False, 0), "CONNACK (session present, rc) for paho MQTTv31")
        self.assertEqual(p.subscribe("legacy/t", 1), 1, "granted QoS")
        p.publish("legacy/t", b"hello", qos=1)
        m = p.expect_message()
        self.assertEqual((m.topic, m.payload, m.qos), ("legacy/t", b"hello", 1))

    @harness.mqttd_only("connect_timeout is an mqttd setting")
    def test_connect_timeout_closes_a_silent_socket(self):
        b = self.start_broker(connect_timeout=1)
        c = self.raw(b.port)
        elapsed = c.expect_closed(timeout=5.0, why="for a socket that sends nothing (connect_timeout 1)")
        self.assertGreaterEqual(elapsed, 0.8, "closed after %.2f s, before connect_timeout 1 s" % elapsed)
        self.assertLessEqual(elapsed, 3.0, "closed after %.2f s, expected about 1 s" % elapsed)

    @harness.mqttd_only("connect_timeout is an mqttd setting")
    def test_connect_timeout_is_fractional(self):
        b = self.start_broker(connect_timeout=0.3)
        c = self.raw(b.port)
        elapsed = c.expect_closed(timeout=3.0, why="for a socket that sends nothing (connect_timeout 0.3)")
        self.assertLessEqual(elapsed, 1.5, "closed after %.2f s, expected about 0.3 s" % elapsed)
        # A client that connects in time is not affected by the timer once CONNECT arrived.
        ok = self.raw_connected("c-in-time", b.port)
        time.sleep(0.6)   # two connect_timeouts: the timer must be gone, not merely late
        ok.expect_open("after connect_timeout passed for a connected client")

    def test_malformed_packet_closes_only_that_connection(self):
        other = self.paho("c-bystander")
        self.assertEqual(other.subscribe("bystander/t", 1), 1)
        bad = self.raw_connected("c-malformed")
        bad.send(b"\x36\x05\x00\x01a\x00\x01", tolerate_close=True)   # PUBLISH with both QoS bits set
        bad.expect_closed(why="after a PUBLISH with QoS 3 [MQTT-3.3.1-4]")
        other.publish("bystander/t", b"still here", qos=1)
        m = other.expect_message(why="after another connection sent a malformed packet")
        self.assertEqual(m.payload, b"still here")

    def test_session_present_flag(self):
        c = self.raw()
        sp, rc = c.connect("c-session", clean_session=False)
        self.assertEqual((sp, rc), (False, 0), "new persistent session: session present 0 [MQTT-3.2.2-3]")
        c.disconnect()
        c = self.raw()
        sp, rc = c.connect("c-session", clean_session=False)
        self.assertEqual((sp, rc), (True, 0), "resumed persistent session: session present 1 [MQTT-3.2.2-2]")
        c.disconnect()
        c = self.raw()
        sp, rc = c.connect("c-session", clean_session=True)
        self.assertEqual((sp, rc), (False, 0), "clean session 1: session present 0 [MQTT-3.2.2-1]")
        c.disconnect()
        c = self.raw()
        sp, rc = c.connect("c-session", clean_session=False)
        self.assertEqual((sp, rc), (False, 0), "the clean session discarded the old one [MQTT-3.1.2-6]")

    @harness.mqttd_only("its acceptors: one SO_REUSEPORT socket per worker")
    def test_every_worker_accepts_connections(self):
        # Two workers (the harness's threads=2). The kernel spreads connections over the acceptors by the
        # peer's port, so 40 connections all landing on one worker would mean the other does not accept.
        for i in range(40):
            self.raw_connected("c-spread-%d" % i)
        workers = {line.split(" worker=")[1].split()[0]
                   for line in self.broker.wait_log("event=connect ", "c-spread-", count=40)}
        self.assertEqual(workers, {"0", "1"}, "workers that accepted a connection")


if __name__ == "__main__":
    harness.run()
