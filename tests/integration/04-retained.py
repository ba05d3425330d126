#!/usr/bin/python3
"""Retained messages: set, replace, delete, wildcard delivery, retain flag on live delivery, re-subscribe,
and the README walk-through with mosquitto_sub / mosquitto_pub."""

import harness
from harness import BrokerTestCase


class Retained(BrokerTestCase):
    def _retained_for(self, client_id, topic_filter, publisher, marker_topic):
        """Subscribes a new client to topic_filter and returns what it gets before a live marker."""
        s = self.paho(client_id)
        s.subscribe(topic_filter, 1)
        publisher.publish(marker_topic, b"marker", qos=1)
        return s.messages_before("marker")

    def test_retained_message_goes_to_later_subscriber(self):
        p = self.paho("ret-pub")
        p.publish("ret/a", b"kept", qos=1, retain=True)
        got = [(m.topic, m.payload, m.qos, m.retain) for m in self._retained_for("ret-sub", "ret/a", p, "ret/a")]
        self.assertEqual(got, [("ret/a", b"kept", 1, True)],
                         "retained message, retain flag 1, to a new subscriber [MQTT-3.3.1-5][MQTT-3.3.1-6]")

    def test_retained_message_is_replaced(self):
        p = self.paho("ret-pub")
        p.publish("ret/r", b"first", qos=1, retain=True)
        p.publish("ret/r", b"second", qos=1, retain=True)
        got = [(m.payload, m.retain) for m in self._retained_for("ret-sub", "ret/r", p, "ret/r")]
        self.assertEqual(got, [(b"second", True)], "only the latest retained message is kept [MQTT-3.3.1-5]")

    def test_retained_qos0_replaces_and_is_kept(self):
        # [MQTT-3.3.1-7] a retained QoS 0 message replaces any retained message on the topic.
        p = self.paho("ret-pub")
        p.publish("ret/q0", b"qos1", qos=1, retain=True)
        p.publish("ret/q0", b"qos0", qos=0, retain=True)
        got = [(m.payload, m.qos, m.retain) for m in self._retained_for("ret-sub", "ret/q0", p, "ret/q0")]
        self.assertEqual(got, [(b"qos0", 0, True)], "retained QoS 0 message replaced the QoS 1 one [MQTT-3.3.1-7]")

    def test_empty_retained_payload_deletes(self):
        live = self.paho("ret-live")
        live.subscribe("ret/d", 1)
        p = self.paho("ret-pub")
        p.publish("ret/d", b"to delete", qos=1, retain=True)
        p.publish("ret/d", b"", qos=1, retain=True)
        got = [(m.payload, m.retain) for m in live.expect_messages(2)]
        self.assertEqual(got, [(b"to delete", False), (b"", False)],
                         "the empty retained PUBLISH is still delivered to current subscribers [MQTT-3.3.1-10]")
        got = [(m.payload, m.retain) for m in self._retained_for("ret-sub", "ret/d", p, "ret/d")]
        self.assertEqual(got, [], "an empty retained payload removes the retained message and is not "
                                  "itself retained [MQTT-3.3.1-10][MQTT-3.3.1-11]")

    def test_retained_messages_for_wildcard_filters(self):
        p = self.paho("ret-pub")
        topics = ["w/a/x", "w/b/x", "w/a/y/z", "w", "other/x"]
        for t in topics:
            p.publish(t, t.encode(), qos=1, retain=True)
        cases = {   # filter: (retained topics it matches, a topic for the live marker that it matches)
            "w/+/x": ({"w/a/x", "w/b/x"}, "w/marker/x"),
            "w/#": ({"w", "w/a/x", "w/b/x", "w/a/y/z"}, "w/marker"),   # '#' matches the parent [MQTT-4.7.1-2]
            "+/x": ({"other/x"}, "marker/x"),
            "#": (set(topics), "marker"),
            "w/a/+/z": ({"w/a/y/z"}, "w/a/marker/z"),
        }
        for n, (topic_filter, (expected, marker_topic)) in enumerate(cases.items()):
            with self.subTest(topic_filter=topic_filter):
                got = self._retained_for("ret-sub-%d" % n, topic_filter, p, marker_topic)
                self.assertEqual(sorted(m.topic for m in got), sorted(expected),
                                 "retained messages for filter %r [MQTT-3.3.1-6]" % topic_filter)
                self.assertTrue(all(m.retain for m in got), "retain flag 1 on each [MQTT-3.3.1-8]")

    def test_live_delivery_has_retain_0(self):
        s = self.paho("ret-live")
        s.subscribe("ret/live", 2)
        p = self.paho("ret-pub")
        p.publish("ret/live", b"live", qos=1, retain=True)
        m = s.expect_message()
        self.assertEqual((m.payload, m.retain), (b"live", False),
                         "retain flag 0 when delivered to an existing subscription [MQTT-3.3.1-9]")

    def test_resubscribe_delivers_retained_again(self):
        p = self.paho("ret-pub")
        p.publish("ret/again", b"again", qos=1, retain=True)
        s = self.paho("ret-sub")
        self.assertEqual(s.subscribe("ret/again", 1), 1)
        m = s.expect_message()
        self.assertEqual((m.payload, m.retain), (b"again", True))
        self.assertEqual(s.subscribe("ret/again", 1), 1)
        m = s.expect_message(why="after re-subscribing to the identical filter [MQTT-3.8.4-3]")
        self.assertEqual((m.payload, m.retain), (b"again", True),
                         "retained message re-sent on an identical subscription [MQTT-3.8.4-3]")
        s.subscribe("marker/again", 1)
        p.publish("marker/again", b"marker", qos=1)
        self.assertEqual(s.messages_before("marker"), [], "exactly one copy per subscribe")

    def test_readme_walkthrough(self):
        # README: mosquitto_sub -h 127.0.0.1 -t 'sensors/#' -q 2 -v
        #         mosquitto_pub -h 127.0.0.1 -t sensors/kitchen/temp -m 21.5 -q 2 -r
        # (plus -p PORT, and -C/-W so the subscriber always ends; -d in the harness to wait for its SUBACK).
        live = self.mosquitto_sub("sensors/#", qos=2, count=1, wait_seconds=10, verbose=True)
        self.mosquitto_pub("sensors/kitchen/temp", "21.5", qos=2, retain=True)
        rc, lines = live.wait()
        self.assertEqual((rc, lines), (0, ["sensors/kitchen/temp 21.5"]),
                         "the subscriber prints the message; output: %s" % live.output())
        later = harness.subprocess.run(
            ["mosquitto_sub", "-h", harness.HOST, "-p", str(self.port), "-t", "sensors/#", "-q", "2", "-v",
             "-C", "1", "-W", "10"],
            capture_output=True, timeout=15, stdin=harness.subprocess.DEVNULL)
        self.assertEqual((later.returncode, later.stdout.decode()), (0, "sensors/kitchen/temp 21.5\n"),
                         "a later mosquitto_sub gets the retained value; stderr: %s" % later.stderr.decode())
        later = harness.subprocess.run(
            ["mosquitto_sub", "-h", harness.HOST, "-p", str(self.port), "-t", "sensors/#", "-q", "2",
             "-F", "%r %q %t %p", "-C", "1", "-W", "10"],
            capture_output=True, timeout=15, stdin=harness.subprocess.DEVNULL)
        self.assertEqual(later.stdout.decode(), "1 2 sensors/kitchen/temp 21.5\n",
                         "retain flag 1 and QoS 2 on the retained copy [MQTT-3.3.1-6]")


if __name__ == "__main__":
    harness.run()
