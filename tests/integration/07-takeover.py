#!/usr/bin/python3
"""Session takeover: a second CONNECT with the same client id closes the first connection [MQTT-3.1.4-2]."""

import harness
from harness import BrokerTestCase


class Takeover(BrokerTestCase):
    def test_second_connection_takes_over(self):
        first = self.raw_connected("tk")
        second = self.raw()
        sp, rc = second.connect("tk")
        self.assertEqual(rc, 0, "CONNACK for the second connection with the same client id")
        first.expect_closed(why="when another connection uses the same client id [MQTT-3.1.4-2]")
        second.expect_open("after taking over the client id")
        self.raw_subscribe(second, 1, [("tk/t", 1)])
        p = self.paho("tk-pub")
        p.publish("tk/t", b"to the new connection", qos=1)
        m = second.expect_publish()
        self.assertEqual(m.payload, b"to the new connection")

    def test_takeover_keeps_a_persistent_session(self):
        first = self.raw()
        self.assertEqual(first.connect("tk-ps", clean_session=False), (False, 0))
        self.raw_subscribe(first, 1, [("tkps/t", 1)])
        second = self.raw()
        self.assertEqual(second.connect("tk-ps", clean_session=False), (True, 0),
                         "the session moves to the new connection: session present 1 [MQTT-3.2.2-2]")
        first.expect_closed(why="on takeover [MQTT-3.1.4-2]")
        p = self.paho("tk-pub")
        p.publish("tkps/t", b"kept subscription", qos=1)
        m = second.expect_publish(why="(on the subscription made by the first connection)")
        self.assertEqual((m.topic, m.payload), ("tkps/t", b"kept subscription"))

    def test_takeover_with_clean_session_starts_fresh(self):
        first = self.raw()
        self.assertEqual(first.connect("tk-clean", clean_session=False), (False, 0))
        self.raw_subscribe(first, 1, [("tkc/t", 1)])
        second = self.raw()
        self.assertEqual(second.connect("tk-clean", clean_session=True), (False, 0),
                         "clean session 1: session present 0 [MQTT-3.2.2-1]")
        first.expect_closed(why="on takeover [MQTT-3.1.4-2]")
        self.raw_subscribe(second, 2, [("tkc/marker", 1)])
        p = self.paho("tk-pub")
        p.publish("tkc/t", b"old subscription", qos=1)
        p.publish("tkc/marker", b"marker", qos=1)
        self.assertEqual(second.receive_publishes("marker"), [],
                         "the first connection's subscriptions were discarded [MQTT-3.1.2-6]")

    def test_takeover_publishes_the_old_connections_will(self):
        # README: the old connection is closed without a DISCONNECT from it, so its will is published
        # ([MQTT-3.1.2-8], as Mosquitto does).
        w = self.paho("tk-watch")
        w.subscribe("tkw/#", 1)
        self.raw_connected("tk-will", will=("tkw/will", b"taken over", 1, False))
        second = self.raw_connected("tk-will")
        m = w.expect_message(why="(the will of the connection that was taken over)")
        self.assertEqual((m.topic, m.payload), ("tkw/will", b"taken over"))
        second.expect_open()

    def test_repeated_takeovers(self):
        conns = [self.raw_connected("tk-many")]
        for i in range(5):
            conns.append(self.raw_connected("tk-many"))
            conns[-2].expect_closed(why="(takeover %d) [MQTT-3.1.4-2]" % (i + 1))
        conns[-1].expect_open("the last connection is the one left")


if __name__ == "__main__":
    harness.run()
