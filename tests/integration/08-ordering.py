#!/usr/bin/python3
"""Ordering under load: 10 publishers x 100 QoS 1 messages each, concurrently; every message arrives and
each topic keeps its order [MQTT-4.6.0-5][MQTT-4.6.0-6]."""

import threading

import harness
from harness import BrokerTestCase

PUBLISHERS = 10
PER_PUBLISHER = 100


class Ordering(BrokerTestCase):
    maxDiff = None

    def _check(self, messages, topics, who):
        per_topic = {t: [] for t in topics}
        for m in messages:
            self.assertIn(m.topic, per_topic, "%s got a message on an unexpected topic" % who)
            per_topic[m.topic].append(int(m.payload.split(b":")[1]))
        for t, seqs in per_topic.items():
            self.assertEqual(seqs, list(range(PER_PUBLISHER)),
                             "%s: messages on %s all delivered once and in publish order [MQTT-4.6.0-5]"
                             % (who, t))

    def _run(self, qos):
        topics = ["ord/%d" % i for i in range(PUBLISHERS)]
        everything = self.paho("ord-all")
        self.assertEqual(everything.subscribe("ord/#", qos), qos)
        one = self.paho("ord-one")
        self.assertEqual(one.subscribe("ord/3", 2), 2)
        publishers = [self.paho("ord-pub-%d" % i) for i in range(PUBLISHERS)]
        errors = []

        def publish_all(i):
            try:
                last = None
                for n in range(PER_PUBLISHER):
                    last = publishers[i].publish(topics[i], b"%d:%d" % (i, n), qos=qos, wait=False)
                last.wait_for_publish(20)
                if not last.is_published():
                    errors.append("publisher %d: last message not acknowledged within 20 s" % i)
            except Exception as e:          # reported below, in the test thread
                errors.append("publisher %d: %r" % (i, e))

        threads = [threading.Thread(target=publish_all, args=(i,)) for i in range(PUBLISHERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(25)
        self.assertEqual(errors, [])
        self._check(everything.expect_messages(PUBLISHERS * PER_PUBLISHER, timeout=20), topics, "ord/# subscriber")
        self._check(one.expect_messages(PER_PUBLISHER, timeout=10), ["ord/3"], "ord/3 subscriber")
        everything.assert_no_message(0.2, "beyond the %d published" % (PUBLISHERS * PER_PUBLISHER))

    def test_qos1_concurrent_publishers(self):
        self._run(1)

    def test_qos2_concurrent_publishers(self):
        self._run(2)


if __name__ == "__main__":
    harness.run()
