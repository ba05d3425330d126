#!/usr/bin/python3
"""Keepalive: PINGREQ/PINGRESP, and a client silent for 1.5 x keepalive is disconnected [MQTT-3.1.2-24]."""

import time

import harness
from harness import BrokerTestCase, PINGREQ_PACKET, publish_packet


class Keepalive(BrokerTestCase):
    def test_pingreq_gets_pingresp(self):
        c = self.raw_connected("ka-ping")
        for _ in range(3):
            c.send(PINGREQ_PACKET)
            c.expect_bytes(b"\xd0\x00", why="(PINGRESP) [MQTT-3.12.4-1]")

    def _time_to_close(self, keepalive):
        c = self.raw_connected("ka-silent-%d" % keepalive, keepalive=keepalive)
        bound = self.keepalive_close_bound(keepalive)
        return c.expect_closed(timeout=bound, why="for a client silent past 1.5 x keepalive %d s [MQTT-3.1.2-24]"
                                                  % keepalive)

    def test_silent_client_is_closed(self):
        elapsed = self._time_to_close(1)
        self.assertGreaterEqual(elapsed, 1.0, "closed after %.2f s, before keepalive 1 s passed [MQTT-3.1.2-24]"
                                % elapsed)

    def test_grace_is_one_and_a_half_keepalives(self):
        elapsed = self._time_to_close(2)
        self.assertGreaterEqual(elapsed, 2.9, "closed after %.2f s: the server must allow 1.5 x keepalive 2 s "
                                              "[MQTT-3.1.2-24]" % elapsed)

    def test_traffic_keeps_the_connection_open(self):
        c = self.raw_connected("ka-busy", keepalive=1)
        end = time.monotonic() + 3.5
        n = 0
        while time.monotonic() < end:
            n += 1
            if n % 2:
                c.send(PINGREQ_PACKET)
                c.expect_bytes(b"\xd0\x00", why="(PINGRESP while sending every 0.5 s with keepalive 1)")
            else:
                c.send(publish_packet("ka/busy", b"x", qos=1, packet_id=n))
                c.expect_bytes(b"\x40\x02" + n.to_bytes(2, "big"), why="(PUBACK; any packet resets keepalive)")
            time.sleep(0.5)     # the traffic pattern under test, not a wait for an event
        c.expect_open("after 3.5 s of traffic every 0.5 s with keepalive 1 "
                      "(any control packet resets the timer, 3.1.2.10)")

    def test_keepalive_0_disables_the_timeout(self):
        c = self.raw_connected("ka-zero", keepalive=0)
        time.sleep(3.0)         # silence is the condition under test: 3 s, more than any 1.5 x 1 s timer
        c.expect_open("after 3 s of silence with keepalive 0 (3.1.2.10: zero turns keep alive off)")


if __name__ == "__main__":
    harness.run()
