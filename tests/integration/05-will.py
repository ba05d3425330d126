#!/usr/bin/python3
"""Will messages: published on network loss, keepalive timeout and protocol violation, not after
DISCONNECT; will retain and will QoS honoured."""

import time

import harness
from harness import BrokerTestCase, DISCONNECT_PACKET


class Will(BrokerTestCase):
    def _watcher(self, topic_filter="will/#", qos=2):
        w = self.paho("will-watcher")
        self.assertEqual(w.subscribe(topic_filter, qos), qos)
        return w

    def test_will_published_when_socket_dropped(self):
        w = self._watcher()
        c = self.raw_connected("will-drop", will=("will/drop", b"gone", 0, False))
        c.close()
        m = w.expect_message(why="(the will of a client whose socket closed without DISCONNECT) [MQTT-3.1.2-8]")
        self.assertEqual((m.topic, m.payload, m.qos, m.retain), ("will/drop", b"gone", 0, False),
                         "will message [MQTT-3.1.2-8]")

    def test_will_published_on_keepalive_timeout(self):
        w = self._watcher()
        c = self.raw_connected("will-silent", keepalive=1, will=("will/silent", b"timed out", 1, False))
        start = time.monotonic()
        bound = self.keepalive_close_bound(1)
        m = w.expect_message(timeout=bound, why="(will after the keepalive of 1 s ran out) [MQTT-3.1.2-24]")
        elapsed = time.monotonic() - start
        self.assertEqual((m.topic, m.payload), ("will/silent", b"timed out"))
        self.assertGreaterEqual(elapsed, 1.0, "will published after %.2f s, before keepalive 1 s elapsed "
                                              "[MQTT-3.1.2-24]" % elapsed)
        c.expect_closed(timeout=2.0, why="after the keepalive timeout [MQTT-3.1.2-24]")

    def test_no_will_after_disconnect(self):
        w = self._watcher()
        c = self.raw_connected("will-polite", will=("will/polite", b"must not appear", 1, False))
        c.send(DISCONNECT_PACKET)
        try:
            c.expect_closed(timeout=2.0, why="after DISCONNECT [MQTT-3.14.4-1]")
        except AssertionError:
            pass    # closing is the client's job too; what matters is the will
        c.close()
        p = self.paho("will-marker")
        p.publish("will/polite", b"marker", qos=1)
        self.assertEqual(w.messages_before("marker"), [],
                         "the will is discarded after DISCONNECT [MQTT-3.1.2-10][MQTT-3.14.4-3]")

    def test_will_retain_honoured(self):
        w = self._watcher()
        c = self.raw_connected("will-retain", will=("will/retained", b"last words", 1, True))
        c.close()
        m = w.expect_message(why="(live will)")
        self.assertEqual((m.payload, m.retain), (b"last words", False),
                         "live delivery of a retained will has retain 0 [MQTT-3.3.1-9]")
        later = self.paho("will-later")
        later.subscribe("will/retained", 1)
        m = later.expect_message(why="(the will was published with retain 1) [MQTT-3.1.2-17]")
        self.assertEqual((m.topic, m.payload, m.retain), ("will/retained", b"last words", True),
                         "will retain 1 makes it a retained message [MQTT-3.1.2-17]")

    def test_will_not_retained_without_will_retain(self):
        w = self._watcher()
        c = self.raw_connected("will-noretain", will=("will/plain", b"not kept", 1, False))
        c.close()
        w.expect_message(why="(live will)")
        p = self.paho("will-marker")
        later = self.paho("will-later")
        later.subscribe("will/plain", 1)
        p.publish("will/plain", b"marker", qos=1)
        self.assertEqual(later.messages_before("marker"), [],
                         "will retain 0: the will is not retained [MQTT-3.1.2-16]")

    def test_will_qos_honoured(self):
        w = self._watcher(qos=2)
        c = self.raw_connected("will-qos", will=("will/qos", b"at qos 1", 1, False))
        c.close()
        m = w.expect_message()
        self.assertEqual((m.payload, m.qos), (b"at qos 1", 1),
                         "will published at will QoS 1 to a QoS 2 subscription [MQTT-3.1.2-14][MQTT-3.8.4-6]")
        c = self.raw_connected("will-qos2", will=("will/qos", b"at qos 2", 2, False))
        c.close()
        m = w.expect_message()
        self.assertEqual((m.payload, m.qos), (b"at qos 2", 2), "will published at will QoS 2")

    def test_will_published_on_protocol_violation(self):
        w = self._watcher()
        c = self.raw_connected("will-violation", will=("will/violation", b"broke the rules", 0, False))
        c.send(b"\x36\x05\x00\x01a\x00\x01", tolerate_close=True)    # PUBLISH with QoS 3 [MQTT-3.3.1-4]
        c.expect_closed(why="after a malformed PUBLISH [MQTT-4.8.0-1]")
        m = w.expect_message(why="(will after the server closed the connection for a protocol error) "
                                 "[MQTT-3.1.2-8]")
        self.assertEqual((m.topic, m.payload), ("will/violation", b"broke the rules"))


if __name__ == "__main__":
    harness.run()
