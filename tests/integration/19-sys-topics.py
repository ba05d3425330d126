#!/usr/bin/python3
"""$SYS topics: Mosquitto's names, published retained every sys_interval, values that follow the clients, the
load averages, sys_interval 0, and the rule that clients cannot publish under $SYS/."""

import time

import harness
from harness import BrokerTestCase, mqttd_only

# Mosquitto's names (sys_tree.c) that mqttd publishes; README "$SYS topics" lists them with their meaning.
EXPECTED = [
    "$SYS/broker/version", "$SYS/broker/uptime",
    "$SYS/broker/clients/total", "$SYS/broker/clients/connected", "$SYS/broker/clients/active",
    "$SYS/broker/clients/disconnected", "$SYS/broker/clients/inactive", "$SYS/broker/clients/maximum",
    "$SYS/broker/clients/expired",
    "$SYS/broker/messages/received", "$SYS/broker/messages/sent", "$SYS/broker/messages/stored",
    "$SYS/broker/store/messages/count",
    "$SYS/broker/publish/messages/received", "$SYS/broker/publish/messages/sent",
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/bytes/received", "$SYS/broker/bytes/sent",
    "$SYS/broker/subscriptions/count", "$SYS/broker/retained messages/count",
] + ["$SYS/broker/load/%s/%s" % (series, window)
     for series in ("messages/received", "messages/sent", "publish/dropped", "publish/received", "publish/sent",
                    "bytes/received", "bytes/sent", "sockets", "connections")
     for window in ("1min", "5min", "15min")]


class SysTopics(BrokerTestCase):
    broker_overrides = {"sys_interval": 1}

    def _values_until(self, client, topic, predicate, timeout=10.0):
        """Reads client's messages until one on `topic` satisfies predicate(payload text); returns that text."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            m = client.expect_message(timeout=max(0.1, deadline - time.monotonic()),
                                      why="(waiting for %s to satisfy the test; saw %s)" % (topic, seen[-5:]))
            if m.topic != topic:
                continue
            text = m.payload.decode()
            seen.append(text)
            if predicate(text):
                return text
        raise AssertionError("%s never satisfied the test within %.0f s; values: %s" % (topic, timeout, seen))

    @mqttd_only("mqttd's list of $SYS topics and its version text")
    def test_mosquitto_sub_sees_every_topic_retained_with_sane_values(self):
        sub = self.mosquitto_sub("$SYS/#", count=len(EXPECTED), wait_seconds=10)
        rc, lines = sub.wait()
        self.assertEqual(rc, 0, "mosquitto_sub got %d messages: %s" % (len(lines), sub.output()))
        # -v prints "topic payload"; "retained messages/count" has a space in the topic itself.
        values = {}
        for line in lines:
            for topic in EXPECTED:
                if line.startswith(topic + " "):
                    values[topic] = line[len(topic) + 1:]
        self.assertEqual(sorted(values), sorted(EXPECTED), "one retained message per $SYS topic: %s" % lines)
        self.assertRegex(values["$SYS/broker/version"], r"^mqttd version \d+\.\d+\.\d+")
        self.assertRegex(values["$SYS/broker/uptime"], r"^\d+ seconds$")
        for topic in EXPECTED[2:20]:
            self.assertRegex(values[topic], r"^\d+$", topic)
        for topic in EXPECTED[20:]:
            self.assertRegex(values[topic], r"^\d+\.\d\d$", topic)

    @mqttd_only("sys_interval")
    def test_values_follow_clients_as_they_come_and_go(self):
        watcher = self.paho("sys-watcher")
        watcher.subscribe("$SYS/broker/clients/connected", 0)
        self._values_until(watcher, "$SYS/broker/clients/connected", lambda v: int(v) == 1)
        others = [self.paho("sys-client-%d" % i, clean_session=False) for i in range(3)]
        self._values_until(watcher, "$SYS/broker/clients/connected", lambda v: int(v) == 4)
        for c in others:
            c.disconnect()
        self._values_until(watcher, "$SYS/broker/clients/connected", lambda v: int(v) == 1)
        watcher.subscribe("$SYS/broker/clients/+", 0)
        self._values_until(watcher, "$SYS/broker/clients/disconnected", lambda v: int(v) == 3)
        self._values_until(watcher, "$SYS/broker/clients/maximum", lambda v: int(v) >= 4)
        self._values_until(watcher, "$SYS/broker/clients/total", lambda v: int(v) == 4)

    @mqttd_only("sys_interval")
    def test_message_counts_and_load_rise_with_traffic(self):
        watcher = self.paho("sys-watcher")
        watcher.subscribe("$SYS/broker/messages/received", 0)
        before = int(self._values_until(watcher, "$SYS/broker/messages/received", lambda v: True))
        p = self.paho("sys-pub")
        for i in range(50):
            p.publish("load/t", b"x" * 100, qos=1)
        self._values_until(watcher, "$SYS/broker/messages/received", lambda v: int(v) >= before + 50)
        watcher.subscribe("$SYS/broker/load/messages/received/1min", 0)
        watcher.subscribe("$SYS/broker/bytes/received", 0)
        self._values_until(watcher, "$SYS/broker/load/messages/received/1min", lambda v: float(v) > 0)
        self._values_until(watcher, "$SYS/broker/bytes/received", lambda v: int(v) > 50 * 100)

    @mqttd_only("sys_interval")
    def test_uptime_advances(self):
        watcher = self.paho("sys-watcher")
        watcher.subscribe("$SYS/broker/uptime", 0)
        first = int(self._values_until(watcher, "$SYS/broker/uptime", lambda v: True).split()[0])
        self._values_until(watcher, "$SYS/broker/uptime", lambda v: int(v.split()[0]) >= first + 2)

    @mqttd_only("sys_interval")
    def test_client_cannot_publish_under_sys(self):
        # Mosquitto's rule, kept by mqttd whatever the ACL says: $SYS/ belongs to the broker. 3.1.1 has no
        # negative acknowledgement, so the PUBLISH is acknowledged and dropped.
        watcher = self.paho("sys-watcher")
        watcher.subscribe("$SYS/#", 0)
        harness.mosquitto_pub(self.port, "$SYS/broker/forged", "forged", qos=1, retain=True)
        harness.mosquitto_pub(self.port, "$SYS/broker/version", "forged", qos=0, retain=True)
        p = self.paho("sys-forger")
        p.publish("$SYS/broker/uptime", b"forged", qos=2)
        # The broker's own next two publications of uptime are the marker: whatever came before them came.
        got = []
        uptimes = 0
        deadline = time.monotonic() + 10
        while uptimes < 3 and time.monotonic() < deadline:  # the retained round, then two more
            m = watcher.expect_message(timeout=max(0.1, deadline - time.monotonic()))
            got.append((m.topic, m.payload))
            uptimes += m.topic == "$SYS/broker/uptime"
        self.assertEqual([g for g in got if g[1] == b"forged" or g[0] == "$SYS/broker/forged"], [],
                         "a client's PUBLISH under $SYS/ reaches no subscriber")
        late = self.paho("sys-late")
        late.subscribe("$SYS/broker/forged", 0)
        late.subscribe("sys/marker", 0)
        p.publish("sys/marker", b"marker", qos=1)
        self.assertEqual(late.messages_before("marker"), [], "and is not retained")

    @mqttd_only("sys_interval")
    def test_sys_interval_0_publishes_nothing(self):
        self.start_broker(sys_interval=0)
        port = self.brokers[-1].port
        watcher = self.paho("sys-watcher", port=port)
        watcher.subscribe("$SYS/#", 0)
        watcher.subscribe("sys/marker", 0)
        p = self.paho("sys-pub", port=port)
        p.publish("sys/marker", b"marker", qos=1)
        self.assertEqual(watcher.messages_before("marker"), [], "no retained $SYS message with sys_interval 0")


if __name__ == "__main__":
    harness.run()
