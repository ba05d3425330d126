#!/usr/bin/python3
"""Durable storage (issue 9): nothing acknowledged is lost, across restarts and crashes.

mqttd keeps persistent sessions (clean session 0) with their subscriptions and queued QoS 1/2 messages, its
QoS 2 state in both directions and the retained messages in a store under data/ beside its config file, and
in `sync: batch` (the default) sends a PUBACK or PUBREC only once what it confirms is on disk. Each test here
kills mqttd with SIGKILL (a crash: nothing is flushed, no shutdown runs) or stops it, and starts it again on
the same store (BrokerProcess.restart()).

- The crash test: two persistent subscribers (QoS 1 and QoS 2) offline, two persistent publishers sending
  10,000 numbered messages (5,000 at QoS 1, 5,000 at QoS 2) with a window of unacknowledged ones, mqttd killed
  at KILLS random points of the run (seeded; the seed is printed, MQTTD_IT_SEED replays it) and again while the
  subscribers are online receiving. The publishers resend what was not acknowledged as a real client does:
  PUBLISH with DUP 1 and the same packet id, or PUBREL once PUBREC came [MQTT-4.4.0-1]. The broker resumes the
  sessions [MQTT-3.1.2-4] with what they were sent offline [MQTT-3.1.2-5]; every acknowledged message reaches
  both subscribers [MQTT-4.3.2-1, -2] [MQTT-4.3.3-1, -2]; none reaches the QoS 2 subscriber twice; QoS 1
  duplicates are counted and printed. Retained messages acknowledged before each kill are there after it
  [MQTT-3.3.1-5, -6].
- In-flight restarts: mqttd killed between PUBREC and PUBREL in both directions of a QoS 2 flow, and before a
  subscriber's PUBREC [MQTT-4.4.0-1] [MQTT-4.3.3-2].
- Storage errors: a store another mqttd holds; a corrupt store with on_corruption stop and move_aside.
- Limits of stored sessions: max_queued_messages and queue_overflow drop_oldest across a restart,
  session_expiry removing the session from disk (shown by mqttd-store).

MQTTD_IT_CRASH_SYNC=none (or periodic) runs the crash tests in a mode that acknowledges before storing, where
a crash may lose acknowledged messages: a check that the test notices. mqttd-only (Mosquitto 2.0 saves its
in-memory state only every autosave_interval).
"""

import collections
import json
import os
import random
import re
import select
import shutil
import subprocess
import time

import harness
from harness import (CONNACK, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, BrokerTestCase,
                     ConnectionClosed, RawClient, mqttd_only, packet_id_of, parse_publish, puback_packet,
                     pubcomp_packet, publish_packet, pubrec_packet, pubrel_packet, subscribe_packet)

CRASH_MESSAGES = 10000        # half at QoS 1, half at QoS 2
KILLS = 5                     # while publishing, at random points
ONLINE_KILLS = 2              # while the subscribers receive
WINDOW = 64                   # unacknowledged PUBLISHes per publisher
PHASE_LIMIT = 20.0            # seconds for publishing everything, and for receiving everything
STALL_LIMIT = 3.0             # seconds without a new message after which the subscribers stop waiting

RECOVERED = re.compile(r"event=recovered store=\S+ retained=(\d+) sessions=(\d+) queued=(\d+) messages=(\d+) "
                       r"duration_ms=(\d+)")


def crash_sync_mode():
    return os.environ.get("MQTTD_IT_CRASH_SYNC", "batch")


def crash_overrides(**extra):
    """The crash tests' configuration. No "persistence" key in the default (batch) mode: the defaults are
    the durable ones, and a broker without persistence (which rejects the key) shows what a crash loses."""
    overrides = {"log_level": "info", "max_queued_messages": 3 * CRASH_MESSAGES, "max_inflight": 50}
    if crash_sync_mode() != "batch":
        overrides["persistence"] = {"sync": crash_sync_mode(), "sync_interval_ms": 1000}
    overrides.update(extra)
    return overrides


def store_tool():
    """mqttd-store built beside the broker (<build>/storage/mqttd-store for <build>/broker/mqttd), or None."""
    here = os.path.dirname(harness.TARGET.path)
    for candidate in (os.path.join(here, "..", "storage", "mqttd-store"), os.path.join(here, "mqttd-store")):
        if os.access(candidate, os.X_OK):
            return os.path.normpath(candidate)
    return None


def store_dir(b):
    return os.path.join(b.dir, "data")


def recovered(b):
    """(retained, sessions, queued, messages, duration_ms) of the last event=recovered line."""
    lines = b.log_lines("event=recovered")
    if not lines:
        raise AssertionError("mqttd logged no event=recovered\n" + b.log_tail())
    return tuple(int(x) for x in RECOVERED.search(lines[-1]).groups())


def wait_readable(clients, timeout):
    """Waits until one of the clients' sockets has bytes (or timeout)."""
    socks = [c.sock for c in clients if c is not None and not c.closed_by_peer]
    if socks and not any(c.buf for c in clients if c is not None):
        select.select(socks, [], [], timeout)


class PersistentPeer:
    """What the crash test's publishers and subscribers share: a persistent session (clean session 0) over a
    RawClient, resumed after every restart [MQTT-3.1.2-4], and a non-blocking pump that sends what
    new_packets() gives and answers what arrives through handle(p, reply)."""

    role = "client"

    def __init__(self, client_id):
        self.client_id = client_id
        self.errors = []
        self.connections = 0
        self.client = None

    def connect_session(self, port):
        self.client = RawClient(port)
        session_present, rc = self.client.connect(self.client_id, clean_session=False)
        if rc != 0:
            raise AssertionError("%s: CONNACK %d" % (self.client_id, rc))
        if self.connections and not session_present:
            self.errors.append("%s: session present 0 after a restart: the broker lost the %s's session "
                               "[MQTT-3.1.2-4] [MQTT-3.2.2-2]" % (self.client_id, self.role))
        self.connections += 1

    def new_packets(self):
        return b""

    def pump(self):
        """Sends what there is to send and handles what arrived. False once the connection is gone."""
        if self.client is None:
            return False
        try:
            out = self.new_packets()
            if out:
                self.client.send(bytes(out))
            reply = bytearray()
            for p in self.client.read_available(0):
                self.handle(p, reply)
            if reply:
                self.client.send(bytes(reply))
            return True
        except (ConnectionClosed, OSError):
            self.drop()
            return False

    def handle(self, p, reply):
        raise NotImplementedError

    def drop(self):
        if self.client is not None:
            self.client.close()
            self.client = None


class ResendingPublisher(PersistentPeer):
    """A publisher with a persistent session that keeps its side of the session across broker crashes, as a
    real client must: up to WINDOW packet ids in flight, each awaiting PUBACK (QoS 1), PUBREC or PUBCOMP
    (QoS 2). On reconnecting it resends every PUBLISH not acknowledged, with DUP 1 and the same packet id, and
    PUBREL for those whose PUBREC came [MQTT-4.4.0-1] [MQTT-3.3.1-1]. A message counts as acknowledged once the
    broker took it over: PUBACK at QoS 1 [MQTT-4.3.2-1], PUBREC at QoS 2 [MQTT-4.3.3-1]."""

    role = "publisher"

    def __init__(self, client_id, topic, qos, numbers):
        super().__init__(client_id)
        self.topic, self.qos = topic, qos
        self.pending = collections.deque(numbers)       # not sent yet
        self.inflight = collections.OrderedDict()       # packet id -> [number, awaited], in the order sent
        self.free_ids = collections.deque(range(1, WINDOW + 1))
        self.acknowledged = set()
        self.sent = 0                                   # first sends
        self.resent_publish = 0
        self.resent_pubrel = 0

    @property
    def is_done(self):
        return not self.pending and not self.inflight

    def connect(self, port):
        self.connect_session(port)
        resend = bytearray()
        for packet_id, (number, awaited) in self.inflight.items():
            if awaited == PUBCOMP:
                resend += pubrel_packet(packet_id)
                self.resent_pubrel += 1
            else:
                resend += publish_packet(self.topic, b"%d" % number, qos=self.qos, dup=True, packet_id=packet_id)
                self.resent_publish += 1
        self.client.send(bytes(resend))

    def new_packets(self):
        """What the window allows."""
        out = bytearray()
        while self.pending and self.free_ids:
            packet_id, number = self.free_ids.popleft(), self.pending.popleft()
            self.inflight[packet_id] = [number, PUBACK if self.qos == 1 else PUBREC]
            out += publish_packet(self.topic, b"%d" % number, qos=self.qos, packet_id=packet_id)
            self.sent += 1
        return out

    def handle(self, p, reply):
        if p.type not in (PUBACK, PUBREC, PUBCOMP):
            self.errors.append("%s: unexpected %s" % (self.client_id, p))
            return
        packet_id = packet_id_of(p)
        number, awaited = self.inflight.get(packet_id, (None, None))
        if p.type == PUBREC and awaited == PUBCOMP:       # a PUBREC repeated: PUBREL again [MQTT-4.3.3-1]
            reply += pubrel_packet(packet_id)
            return
        if awaited != p.type:
            self.errors.append("%s: %s for packet id %d, which awaits %s" % (
                self.client_id, p, packet_id, harness.PACKET_NAMES.get(awaited, "nothing")))
            return
        if p.type == PUBREC:
            self.acknowledged.add(number)
            self.inflight[packet_id][1] = PUBCOMP
            reply += pubrel_packet(packet_id)
            return
        if p.type == PUBACK:
            self.acknowledged.add(number)
        del self.inflight[packet_id]
        self.free_ids.append(packet_id)

class CheckingSubscriber(PersistentPeer):
    """A persistent subscriber that acknowledges everything and counts, by payload number, what the
    application would see. At QoS 2 it holds each packet id from PUBREC to PUBREL, so a PUBLISH resent with
    that id is the same message, not a new one [MQTT-4.3.3-2]; a second *new* QoS 2 PUBLISH of a number is a
    duplicate the broker must never send."""

    role = "subscriber"

    def __init__(self, client_id, topic_filter, qos, marker_topic, numbers):
        super().__init__(client_id)
        self.topic_filter, self.qos = topic_filter, qos
        self.marker_topic = marker_topic
        self.numbers = numbers                          # the payloads expected, each once
        self.first = {}                                 # number -> QoS of its first delivery
        self.copies = collections.Counter()             # number -> deliveries after the first
        self.awaiting_pubrel = {}                       # packet id -> number
        self.qos2_duplicates = []
        self.qos2_resends = 0                           # PUBLISH resent for a packet id we hold
        self.pubrels = 0
        self.markers = 0

    def connect(self, port, subscribe=False):
        self.connect_session(port)
        if subscribe:
            self.client.send(subscribe_packet(1, [(self.topic_filter, self.qos)]))
            suback = self.client.expect(SUBACK)
            if suback.body[2:] != bytes([self.qos]):
                raise AssertionError("%s: SUBACK %s" % (self.client_id, suback))

    def handle(self, p, reply):
        if p.type == PUBREL:
            self.awaiting_pubrel.pop(packet_id_of(p), None)
            self.pubrels += 1
            reply += pubcomp_packet(packet_id_of(p))
            return
        if p.type != PUBLISH:
            self.errors.append("%s: unexpected %s" % (self.client_id, p))
            return
        m = parse_publish(p)
        if m.qos == 1:
            reply += puback_packet(m.packet_id)
        elif m.qos == 2:
            reply += pubrec_packet(m.packet_id)
        else:
            self.errors.append("%s: a QoS 0 PUBLISH %s" % (self.client_id, p))
            return
        if m.topic == self.marker_topic:
            self.markers += 1
            return
        number = int(m.payload)
        if number not in self.numbers:
            self.errors.append("%s: unexpected message %s" % (self.client_id, p))
            return
        if m.qos == 2:
            held = self.awaiting_pubrel.get(m.packet_id)
            if held is not None:
                self.qos2_resends += 1
                if held != number or not m.dup:
                    self.errors.append("%s: packet id %d, held since PUBREC for message %d, came again with "
                                       "message %d dup=%d [MQTT-4.3.3-2] [MQTT-3.3.1-1]"
                                       % (self.client_id, m.packet_id, held, number, m.dup))
                return
            self.awaiting_pubrel[m.packet_id] = number
        if number in self.first:
            self.copies[number] += 1
            if m.qos == 2 and self.first[number] == 2:
                self.qos2_duplicates.append(number)
        else:
            self.first[number] = m.qos

    @property
    def has_all(self):
        return len(self.first) == len(self.numbers)

    def missing(self):
        return sorted(set(self.numbers) - set(self.first))

def short(numbers, limit=12):
    numbers = list(numbers)
    return "%s%s" % (numbers[:limit], " ... (%d in all)" % len(numbers) if len(numbers) > limit else "")


class CrashTest(BrokerTestCase):
    """The issue's test: crashes while publishing and while delivering, nothing acknowledged lost."""

    def setUp(self):
        super().setUp()
        seed = os.environ.get("MQTTD_IT_SEED")
        self.seed = int(seed) if seed else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.retained_problems = []
        print("\n    seed %d (MQTTD_IT_SEED=%d replays the kill points), sync %s"
              % (self.seed, self.seed, crash_sync_mode()), end=" ", flush=True)

    def crash_and_restart(self, b, clients):
        """SIGKILL, then mqttd again on the same store. Returns the queued entries it read back (None when
        it logged no event=recovered: a broker without a store, whose losses the test then shows)."""
        b.kill()
        for c in clients:
            c.drop()
        b.restart()
        return recovered(b)[2] if b.log_lines("event=recovered") else None

    def set_retained(self, b, k):
        """Two retained messages, acknowledged: crash/retained/<k> = r<k> and crash/retained/latest = <k>."""
        c = RawClient(b.port)
        try:
            c.connect("crash-retainer-%d" % k)
            c.send(publish_packet("crash/retained/%d" % k, b"r%d" % k, qos=1, retain=True, packet_id=1) +
                   publish_packet("crash/retained/latest", b"%d" % k, qos=1, retain=True, packet_id=2))
            self.assertEqual({packet_id_of(c.expect(PUBACK)), packet_id_of(c.expect(PUBACK))}, {1, 2})
            c.disconnect()
        finally:
            c.close()

    def check_retained(self, b, kills):
        """Every retained message acknowledged before the kills is there, the latest value last written
        [MQTT-3.3.1-5, -6]. Returns what differs ("" when nothing), for the report."""
        expected = {"crash/retained/%d" % k: b"r%d" % k for k in range(1, kills + 1)}
        expected["crash/retained/latest"] = b"%d" % kills
        c = RawClient(b.port)
        try:
            c.connect("crash-retained-check")
            c.send(subscribe_packet(1, [("crash/retained/#", 0)]))
            c.expect(SUBACK)
            c.send(harness.PINGREQ_PACKET)      # answered after the retained messages the SUBSCRIBE sent
            got = {}
            while True:
                p = c.read_packet(5.0)
                if p.type == PINGRESP:
                    break
                m = parse_publish(p)
                self.assertTrue(m.retain, "a retained message is sent with RETAIN 1 [MQTT-3.3.1-8]")
                got[m.topic] = m.payload
            c.disconnect()
        finally:
            c.close()
        if got == expected:
            return ""
        return "retained after kill %d: missing %s, wrong %s" % (
            kills, sorted(set(expected) - set(got)),
            sorted((t, got[t]) for t in got if t in expected and got[t] != expected[t]))

    def publish_with_kills(self, b, publishers):
        kill_points = sorted(self.rng.sample(range(CRASH_MESSAGES // 20, CRASH_MESSAGES - CRASH_MESSAGES // 20),
                                             KILLS))
        report = []
        for p in publishers:
            p.connect(b.port)
        deadline = time.monotonic() + PHASE_LIMIT
        kills = 0
        kill_at = None
        while not all(p.is_done for p in publishers):
            if time.monotonic() > deadline:
                self.fail("publishing not finished in %.0f s: %s" % (PHASE_LIMIT, [
                    (p.client_id, p.sent, len(p.acknowledged), len(p.inflight)) for p in publishers]))
            wait_readable([p.client for p in publishers], 0.01)
            for p in publishers:
                if not p.pump():
                    self.fail("%s lost its connection with the broker running\n%s" % (p.client_id, b.log_tail()))
            sent = sum(p.sent for p in publishers)
            if kill_points and sent >= kill_points[0] and kill_at is None:
                kill_points.pop(0)
                kills += 1
                self.set_retained(b, kills)
                kill_at = sent + self.rng.randrange(0, 2 * WINDOW)
            if kill_at is not None and (sent >= kill_at or all(p.is_done for p in publishers)):
                kill_at = None
                acked = sum(len(p.acknowledged) for p in publishers)
                state = self.crash_and_restart(b, publishers)
                report.append("kill %d at %d sent, %d acknowledged: recovered queued=%s" % (kills, sent, acked,
                                                                                           state))
                retained_problem = self.check_retained(b, kills)
                if retained_problem:
                    self.retained_problems.append(retained_problem)
                    report.append("  " + retained_problem)
                for p in publishers:
                    p.connect(b.port)
        for p in publishers:
            p.client.disconnect()
            p.drop()
        return report

    def receive_with_kills(self, b, subscribers):
        """Both subscribers online, mqttd killed ONLINE_KILLS times while they receive; then a marker sent
        after everything shows that nothing more is coming."""
        total = sum(len(s.numbers) for s in subscribers)
        kill_points = sorted(self.rng.sample(range(total // 10, total - total // 10), ONLINE_KILLS))
        report = []
        for s in subscribers:
            s.connect(b.port)
        deadline = time.monotonic() + PHASE_LIMIT
        progress = (0, time.monotonic())          # (messages received, when that count changed)
        while not all(s.has_all for s in subscribers):
            now = time.monotonic()
            if now > deadline or now - progress[1] > STALL_LIMIT:
                report.append("stopped waiting: %s" % ("; ".join("%s missing %d" % (s.client_id, len(s.missing()))
                                                                 for s in subscribers)))
                for s in subscribers:
                    s.drop()
                return report                     # the caller reports what is missing
            wait_readable([s.client for s in subscribers], 0.05)
            for s in subscribers:
                if not s.pump():
                    self.fail("%s lost its connection with the broker running\n%s" % (s.client_id, b.log_tail()))
            received = sum(len(s.first) for s in subscribers)
            if received != progress[0]:
                progress = (received, now)
            if kill_points and received >= kill_points[0]:
                kill_points.pop(0)
                state = self.crash_and_restart(b, subscribers)
                report.append("online kill at %d of %d received: recovered queued=%s" % (received, total, state))
                for s in subscribers:
                    s.connect(b.port)
        marker = RawClient(b.port)
        marker.connect("crash-marker")
        marker.send(publish_packet("crash/data/marker", b"marker", qos=1, packet_id=1))
        marker.expect(PUBACK)
        marker.disconnect()
        deadline = time.monotonic() + 5.0
        while not all(s.markers for s in subscribers):
            if time.monotonic() > deadline:
                self.fail("the marker published after everything did not arrive")
            wait_readable([s.client for s in subscribers], 0.05)
            for s in subscribers:
                if not s.pump():
                    self.fail("%s lost its connection\n%s" % (s.client_id, b.log_tail()))
        for s in subscribers:
            s.client.disconnect()
            s.drop()
        return report

    @mqttd_only("kills and restarts mqttd on its store")
    def test_crash_while_publishing_and_delivering_loses_nothing(self):
        """[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-4.3.2-1, -2] [MQTT-4.3.3-1, -2] [MQTT-4.4.0-1]: 10,000
        numbered messages, 5 kills while publishing, 2 while delivering: each subscriber gets every one."""
        b = self.start_broker(**crash_overrides())
        q1_numbers = range(0, CRASH_MESSAGES // 2)
        q2_numbers = range(CRASH_MESSAGES // 2, CRASH_MESSAGES)
        subscribers = [CheckingSubscriber("crash-sub-qos%d" % q, "crash/data/#", q, "crash/data/marker",
                                          range(CRASH_MESSAGES)) for q in (1, 2)]
        for s in subscribers:
            s.connect(b.port, subscribe=True)
            s.client.disconnect()
            s.drop()
        publishers = [ResendingPublisher("crash-pub-qos1", "crash/data/q1", 1, q1_numbers),
                      ResendingPublisher("crash-pub-qos2", "crash/data/q2", 2, q2_numbers)]
        started = time.monotonic()
        report = self.publish_with_kills(b, publishers)
        published = time.monotonic()
        report += self.receive_with_kills(b, subscribers)

        print("%.1f s publishing, %.1f s receiving" % (published - started, time.monotonic() - published))
        for line in report:
            print("    " + line)
        print("    publishers resent %d PUBLISH (DUP 1) and %d PUBREL after the kills"
              % (sum(p.resent_publish for p in publishers), sum(p.resent_pubrel for p in publishers)))
        for s in subscribers:
            dup1 = sum(n for number, n in s.copies.items() if number in q1_numbers)
            dup2 = sum(n for number, n in s.copies.items() if number in q2_numbers)
            print("    %s: %d distinct; duplicates of QoS 1 messages %d, of QoS 2 messages %d; %d QoS 2 "
                  "PUBLISH resent for a held packet id, %d PUBREL" % (s.client_id, len(s.first), dup1, dup2,
                                                                     s.qos2_resends, s.pubrels))
        for s in subscribers:
            self.assertEqual(short(s.missing()), short([]),
                             "%s: messages the broker acknowledged (PUBACK, PUBREC) and never delivered "
                             "[MQTT-3.1.2-5] [MQTT-4.3.2-2] [MQTT-4.3.3-2]" % s.client_id)
        for c in publishers + subscribers:
            self.assertEqual(c.errors[:10], [], "%s: %d errors" % (c.client_id, len(c.errors)))
        self.assertEqual(self.retained_problems, [],
                         "retained messages acknowledged before a kill, read back after it [MQTT-3.3.1-5]")
        qos2 = subscribers[1]
        self.assertEqual(qos2.qos2_duplicates, [],
                         "QoS 2 messages delivered twice to the QoS 2 subscriber [MQTT-4.3.3-2]")
        self.assertEqual({n for n, q in qos2.first.items() if q == 2}, set(q2_numbers),
                         "the QoS 2 subscriber gets the QoS 2 messages at QoS 2 [MQTT-3.8.4-6]")


class InflightRestart(BrokerTestCase):
    """mqttd killed in the middle of a QoS 2 flow, on the publisher's side and on the subscriber's."""

    broker_overrides = {"log_level": "info"}

    def persistent(self, b, client_id, session_present=None):
        c = self.raw(b.port)
        present, rc = c.connect(client_id, clean_session=False)
        self.assertEqual(rc, 0)
        if session_present is not None:
            self.assertEqual(present, session_present,
                             "session present for %r after the restart [MQTT-3.1.2-4] [MQTT-3.2.2-2]" % client_id)
        return c

    def show_store(self, b, what="sessions"):
        tool = store_tool()
        if tool is None:
            return None
        done = subprocess.run([tool, store_dir(b), what], capture_output=True, text=True, timeout=10)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def marker_only(self, b, sub, topic):
        """A marker published now is the next message the subscriber gets: nothing was delivered twice."""
        pub = self.raw_connected("inflight-marker", port=b.port)
        pub.send(publish_packet(topic, b"marker", qos=1, packet_id=1))
        pub.expect(PUBACK)
        self.assertEqual(sub.receive_publishes(b"marker"), [], "(nothing delivered again before the marker)")

    def inbound(self, resend_publish, subscriber_online):
        b = self.broker
        sub = self.persistent(b, "in-sub")
        self.raw_subscribe(sub, 1, [("inflight/in", 2)])
        if not subscriber_online:
            sub.disconnect()
        pub = self.persistent(b, "in-pub")
        pub.send(publish_packet("inflight/in", b"once", qos=2, packet_id=7))
        self.assertEqual(packet_id_of(pub.expect(PUBREC)), 7)
        if subscriber_online:
            self.assertEqual([m.payload for m in sub.receive_publishes(b"once")], [])
        b.kill()
        store = self.show_store(b)
        if store is not None:
            self.assertRegex(store, r'client_id="in-pub" .*inbound_ids=7\b',
                             "the publisher's QoS 2 packet id is stored before PUBREC [MQTT-4.3.3-2]")
        b.restart()
        pub = self.persistent(b, "in-pub", session_present=True)
        if resend_publish:
            # [MQTT-4.3.3-2] the id is held until PUBREL: the resent PUBLISH is acknowledged, not delivered.
            pub.send(publish_packet("inflight/in", b"once", qos=2, dup=True, packet_id=7))
            self.assertEqual(packet_id_of(pub.expect(PUBREC, why="(for the resent PUBLISH)")), 7)
        pub.send(pubrel_packet(7))
        pub.expect_bytes(pubcomp_packet(7), why="(PUBREL after the restart) [MQTT-4.3.3-1]")
        # After PUBCOMP the id is free: the same id is a new message [MQTT-4.3.3-2].
        pub.send(publish_packet("inflight/in", b"second", qos=2, packet_id=7))
        self.assertEqual(packet_id_of(pub.expect(PUBREC)), 7)
        pub.send(pubrel_packet(7))
        pub.expect(PUBCOMP)
        sub = self.persistent(b, "in-sub", session_present=True)
        got = [m.payload for m in sub.receive_publishes(b"second")]
        self.assertEqual(got, [] if subscriber_online else [b"once"],
                         "the message published before the crash reaches the subscriber exactly once "
                         "[MQTT-4.3.3-2]")
        self.marker_only(b, sub, "inflight/in")

    @mqttd_only("kills and restarts mqttd on its store")
    def test_inbound_killed_before_pubrel_publish_resent(self):
        """[MQTT-4.3.3-2] [MQTT-4.4.0-1] PUBREC sent, killed before PUBREL; the publisher resends the PUBLISH
        with DUP 1: delivered once (the subscriber offline, its queue stored)."""
        self.inbound(resend_publish=True, subscriber_online=False)

    @mqttd_only("kills and restarts mqttd on its store")
    def test_inbound_killed_before_pubrel_subscriber_online(self):
        """[MQTT-4.3.3-2] the subscriber got the message before the crash: the resent PUBLISH and the PUBREL
        after it deliver nothing more."""
        self.inbound(resend_publish=True, subscriber_online=True)

    @mqttd_only("kills and restarts mqttd on its store")
    def test_inbound_killed_before_pubrel_pubrel_only(self):
        """[MQTT-4.3.3-1] PUBREC came before the crash, so the publisher sends only PUBREL: PUBCOMP."""
        self.inbound(resend_publish=False, subscriber_online=False)

    def outbound_qos2_sent(self, b):
        """A persistent subscriber on inflight/out (QoS 2) and a QoS 2 message completed by its publisher:
        returns the subscriber and the PUBLISH it got."""
        sub = self.persistent(b, "out-sub")
        self.raw_subscribe(sub, 1, [("inflight/out", 2)])
        pub = self.raw_connected("out-pub", port=b.port)
        pub.send(publish_packet("inflight/out", b"payload", qos=2, packet_id=1))
        pub.expect(PUBREC)
        pub.send(pubrel_packet(1))
        pub.expect(PUBCOMP)
        return sub, sub.expect_publish()

    @mqttd_only("kills and restarts mqttd on its store")
    def test_outbound_killed_before_pubcomp_pubrel_resent(self):
        """[MQTT-4.4.0-1] [MQTT-4.3.3-1] the subscriber got PUBLISH, sent PUBREC, got PUBREL; killed before
        its PUBCOMP: after the restart the broker resends PUBREL, not the PUBLISH."""
        b = self.broker
        sub, m = self.outbound_qos2_sent(b)
        self.assertEqual((m.payload, m.qos), (b"payload", 2))
        sub.send(pubrec_packet(m.packet_id))
        sub.expect_bytes(pubrel_packet(m.packet_id), why="(PUBREL for the PUBREC)")
        b.kill()
        store = self.show_store(b)
        if store is not None:
            self.assertRegex(store, r'client_id="out-sub" .*inflight=1\b', "(the PUBREL state is stored)")
        b.restart()
        sub = self.persistent(b, "out-sub", session_present=True)
        sub.expect_bytes(pubrel_packet(m.packet_id),
                         why="(the PUBREL resent after the restart, with the same packet id, not the PUBLISH) "
                             "[MQTT-4.4.0-1]")
        sub.send(pubcomp_packet(m.packet_id))
        sub.expect_open("(nothing else resent)")
        self.marker_only(b, sub, "inflight/out")

    @mqttd_only("kills and restarts mqttd on its store")
    def test_outbound_killed_before_pubrec_publish_resent(self):
        """[MQTT-4.4.0-1] [MQTT-3.3.1-1] the subscriber got the QoS 2 PUBLISH and sent nothing; killed: after
        the restart the PUBLISH comes again with DUP 1 and the same packet id, then the flow completes once."""
        b = self.broker
        sub, first = self.outbound_qos2_sent(b)
        self.assertEqual((first.payload, first.qos, first.dup), (b"payload", 2, False))
        b.kill()
        b.restart()
        sub = self.persistent(b, "out-sub", session_present=True)
        again = sub.expect_publish(why="(the unacknowledged QoS 2 PUBLISH, resent after the restart)")
        self.assertEqual((again.payload, again.qos, again.packet_id, again.dup),
                         (b"payload", 2, first.packet_id, True),
                         "resent with the same packet id [MQTT-4.4.0-1] and DUP 1 [MQTT-3.3.1-1]")
        sub.send(pubrec_packet(again.packet_id))
        sub.expect_bytes(pubrel_packet(again.packet_id))
        sub.send(pubcomp_packet(again.packet_id))
        sub.expect_open("(nothing else resent)")
        self.marker_only(b, sub, "inflight/out")


class StorageErrors(BrokerTestCase):
    """A store another process holds, and a corrupt one."""

    broker_overrides = {"log_level": "info"}

    def fill(self, b):
        """A persistent session with 3 queued messages and 3 retained ones."""
        sub = RawClient(b.port)
        sub.connect("errors-sub", clean_session=False)
        self.raw_subscribe(sub, 1, [("errors/#", 1)])
        sub.disconnect()
        pub = RawClient(b.port)
        pub.connect("errors-pub")
        for i in range(3):
            pub.send(publish_packet("errors/%d" % i, b"value %d" % i, qos=1, retain=True, packet_id=i + 1))
            pub.expect(PUBACK)
        pub.disconnect()

    def config(self, b, **persistence):
        config = json.loads(open(b.config_path).read())
        config["persistence"] = dict(persistence, dir=store_dir(b))
        return config

    def corrupt_and_start(self, what, on_corruption):
        """A store with data, stopped cleanly (and, for an .sst, started and stopped again so that recovery
        wrote one), then `what` overwritten with garbage; mqttd started on it. Returns (broker, exit status,
        log text) with the status None when mqttd kept running."""
        b = self.broker
        self.fill(b)
        self.assertEqual(b.stop(), 0)
        if what == "sst":
            b.restart()
            self.assertEqual(recovered(b)[:3], (3, 1, 3))
            self.assertEqual(b.stop(), 0)
        files = sorted(os.listdir(store_dir(b)))
        # Every table: one a compaction has just made obsolete may still be in the directory, unread by the
        # next start.
        names = ["CURRENT"] if what == "CURRENT" else [f for f in files if f.endswith(".sst")]
        self.assertTrue(names, "no .sst file in %s" % files)
        for name in names:
            with open(os.path.join(store_dir(b), name), "r+b") as f:
                size = max(16, os.path.getsize(f.name))
                f.write((b"\xde\xad garbage \xbe\xef" * (size // 16 + 1))[:size])
        config = self.config(b, on_corruption=on_corruption)
        code, log = harness.broker.run_mqttd_once(harness.TARGET.path, config, harness.base_dir(), timeout=5)
        return b, code, log

    @mqttd_only("mqttd's store")
    def test_store_held_by_another_mqttd(self):
        """A second mqttd on a store the first holds exits 1 with a message naming the directory; the first
        goes on working."""
        b = self.broker
        self.fill(b)
        code, log = harness.broker.run_mqttd_once(harness.TARGET.path, self.config(b), harness.base_dir(),
                                                  timeout=10)
        self.assertEqual(code, 1, "exit status of a second mqttd on the same store\n%s" % log)
        self.assertIn(store_dir(b), log, "the message names the store's directory")
        self.assertIn("in use", log)
        self.assertNotIn("event=listening", log, "nothing listened")
        sub = self.raw_connected("errors-sub", port=b.port, clean_session=False)
        self.assertEqual(len(sub.receive_publishes(b"value 2")), 2, "the first mqttd still serves its store")

    @mqttd_only("mqttd's store")
    def test_corrupt_current_stops_startup(self):
        """on_corruption stop: a store whose CURRENT file is garbage is refused (exit 1, the reason), and
        left as it is."""
        b, code, log = self.corrupt_and_start("CURRENT", "stop")
        self.assertEqual(code, 1, "exit status on a corrupt store\n%s" % log)
        self.assertRegex(log, r"level=error .*corrupt", "a clear message")
        self.assertIn(store_dir(b), log, "the message names the store's directory")
        self.assertEqual([f for f in os.listdir(b.dir) if ".corrupt" in f], [], "nothing moved aside")
        with open(os.path.join(store_dir(b), "CURRENT"), "rb") as f:
            self.assertIn(b"garbage", f.read(), "the damaged store is left as it was")

    @mqttd_only("mqttd's store")
    def test_corrupt_sst_stops_startup(self):
        """on_corruption stop (the default): a table file overwritten with garbage is refused too."""
        b, code, log = self.corrupt_and_start("sst", "stop")
        self.assertEqual(code, 1, "exit status on a corrupt store\n%s" % log)
        self.assertRegex(log, r"level=error .*corrupt")
        self.assertNotIn("event=listening", log)

    @mqttd_only("mqttd's store")
    def test_corrupt_log_record_stops_startup(self):
        """on_corruption stop: a record in the middle of the write-ahead log that fails its checksum, with
        acknowledged writes after it, is corruption too: start-up stops rather than dropping those writes.
        (A torn record at the very end of the log, from a power cut, is a write never acknowledged and may
        be dropped; this one is followed by 20 acknowledged ones.)"""
        b = self.broker
        self.fill(b)
        pub = RawClient(b.port)
        pub.connect("errors-pub")
        for i in range(20):                      # 20 writes of their own, each acknowledged
            pub.send(publish_packet("errors/more/%d" % i, b"more %d" % i, qos=1, retain=True, packet_id=1))
            pub.expect(PUBACK)
        pub.disconnect()
        self.assertEqual(b.stop(), 0)
        logs = [f for f in os.listdir(store_dir(b)) if f.endswith(".log")]
        self.assertEqual(len(logs), 1, "one write-ahead log: %s" % logs)
        with open(os.path.join(store_dir(b), logs[0]), "r+b") as f:
            size = os.path.getsize(f.name)
            f.seek(size // 3)
            f.write(b"\xde\xad garbage \xbe\xef")
        code, log = harness.broker.run_mqttd_once(harness.TARGET.path, self.config(b, on_corruption="stop"),
                                                  harness.base_dir(), timeout=5)
        read_back = [line.split("event=recovered ")[1] for line in log.splitlines() if "event=recovered" in line]
        self.assertEqual(code, 1, "mqttd started on a log with a damaged record in its middle (%d bytes, "
                                  "damaged at %d), read back %s of 23 retained, and logged: %s"
                         % (size, size // 3, read_back, [l for l in log.splitlines() if "level=warning" in l]))
        self.assertRegex(log, r"level=error .*corrupt")

    @mqttd_only("mqttd's store")
    def test_corrupt_store_moved_aside(self):
        """on_corruption move_aside: mqttd starts with an empty store, logs an error, and the damaged
        directory is renamed with a timestamp beside it; the new store works across a restart."""
        b = self.broker
        self.fill(b)
        self.assertEqual(b.stop(), 0)
        with open(os.path.join(store_dir(b), "CURRENT"), "wb") as f:
            f.write(b"\xde\xad garbage\n")
        config = self.config(b, on_corruption="move_aside")
        with open(b.config_path, "w") as f:
            json.dump(config, f)
        b.restart()
        self.assertEqual(recovered(b)[:3], (0, 0, 0), "an empty store")
        errors = b.log_lines("level=error", "corrupt")
        self.assertTrue(errors, "an error is logged\n" + b.log_tail())
        aside = [f for f in os.listdir(b.dir) if f.startswith("data.corrupt")]
        self.assertEqual(len(aside), 1, "one directory moved aside: %s" % os.listdir(b.dir))
        self.assertRegex(aside[0], r"^data\.corrupt-\d{8}T\d{6}Z$", "renamed with a timestamp")
        self.assertIn(aside[0], errors[0], "the error names where the store went")
        with open(os.path.join(b.dir, aside[0], "CURRENT"), "rb") as f:
            self.assertIn(b"garbage", f.read(), "the damaged store is kept, as it was")
        self.fill(b)
        b.kill()
        b.restart()
        self.assertEqual(recovered(b)[:3], (3, 1, 3), "the new store survives a crash")


class StoredSessionLimits(BrokerTestCase):
    """The queue limits and session_expiry hold for sessions that came back from the store."""

    def publish_numbers(self, b, numbers, topic="limits/t"):
        """QoS 1, all sent at once; returns after the last PUBACK (the connection left open)."""
        pub = self.raw_connected("limits-pub-%d" % numbers[0], port=b.port)
        for i, n in enumerate(numbers):
            pub.send(publish_packet(topic, b"%d" % n, qos=1, packet_id=i + 1))
        for _ in numbers:
            pub.expect(PUBACK)

    def subscribe_offline(self, b, client_id):
        sub = self.raw_connected(client_id, port=b.port, clean_session=False)
        self.raw_subscribe(sub, 1, [("limits/t", 1)])
        sub.disconnect()

    def receive(self, b, client_id):
        """What the session holds, in order: a marker published once it is connected comes after it (the
        whole queue, at most max_queued_messages, goes in flight at once: max_inflight is 20)."""
        sub = self.raw_connected(client_id, port=b.port, clean_session=False)
        self.publish_numbers(b, [-1])
        return [int(m.payload) for m in sub.receive_publishes(b"-1")]

    def store_queue(self, b, client_id):
        """The queue length mqttd-store shows for the session (None: no such session)."""
        done = subprocess.run([store_tool(), store_dir(b), "sessions"], capture_output=True, text=True, timeout=10)
        self.assertEqual(done.returncode, 0, done.stderr)
        m = re.search(r'client_id="%s" .*queue=(\d+)' % re.escape(client_id), done.stdout)
        return int(m.group(1)) if m else None

    @mqttd_only("kills and restarts mqttd on its store")
    def test_max_queued_messages_across_restart(self):
        """max_queued_messages 10, drop_new: 15 published offline keep the first 10; after a crash the
        restored queue is still full (whatever the store held of the dropped ones), so 5 more are dropped
        too; the subscriber gets exactly 0..9."""
        b = self.start_broker(max_queued_messages=10, log_level="info")
        self.subscribe_offline(b, "limits-sub")
        self.publish_numbers(b, list(range(15)))
        b.kill()
        b.restart()
        # What was read back may include entries of the 5 dropped ones: their deletes are not waited for
        # (README: Durable storage), so the crash may have come first. The restored queue keeps to the
        # limit all the same, and deletes them.
        self.assertLessEqual(recovered(b)[2], 15, "queued entries read back")
        self.publish_numbers(b, list(range(15, 20)))
        self.assertEqual(b.stop(), 0)
        b.restart()
        # A clean stop waits until the subscriber's worker has taken in every delivery the publisher's worker
        # handed it, and their drops are made and stored before the exit.
        self.assertEqual(recovered(b)[2], 10, "queued entries read back after a clean stop")
        self.assertEqual(self.receive(b, "limits-sub"), list(range(10)),
                         "the first 10 (queue_overflow drop_new) [MQTT-3.1.2-5]")
        self.assertTrue(b.log_lines("event=message_dropped", "reason=queue_full"))

    @mqttd_only("kills and restarts mqttd on its store")
    def test_drop_oldest_keeps_newest_across_restart(self):
        """queue_overflow drop_oldest, max_queued_messages 10: 15 published offline keep 5..14; stopped and
        started again, 3 more make 8..17, still so after another restart."""
        b = self.start_broker(max_queued_messages=10, queue_overflow="drop_oldest", log_level="info")
        self.subscribe_offline(b, "limits-sub")
        self.publish_numbers(b, list(range(15)))
        self.assertEqual(b.stop(), 0)
        b.restart()
        # The clean stop waited for the subscriber's worker to take in every delivery (and make its drops).
        self.assertEqual(recovered(b)[2], 10, "queued entries read back after a clean stop")
        self.publish_numbers(b, list(range(15, 18)))
        # A PUBACK says the message is stored, not that the subscriber's worker has queued it yet: were the
        # subscriber to connect now, the last ones could reach it online, with nothing left to drop. A clean
        # stop settles that.
        self.assertEqual(b.stop(), 0)
        b.restart()
        self.assertEqual(recovered(b)[2], 10, "queued entries read back after the second clean stop")
        self.assertEqual(self.receive(b, "limits-sub"), list(range(8, 18)), "the newest 10")

    @mqttd_only("kills and restarts mqttd on its store")
    def test_drop_oldest_across_crash(self):
        """The same with a crash right after the last PUBACK: the newest 10 still, none of the dropped ones
        back."""
        b = self.start_broker(max_queued_messages=10, queue_overflow="drop_oldest", log_level="info")
        self.subscribe_offline(b, "limits-sub")
        self.publish_numbers(b, list(range(15)))
        b.kill()
        b.restart()
        self.assertLessEqual(recovered(b)[2], 15, "queued entries read back (deletes of dropped ones may be lost)")
        self.publish_numbers(b, list(range(15, 18)))
        self.assertEqual(self.receive(b, "limits-sub"), list(range(8, 18)), "the newest 10")

    @mqttd_only("kills and restarts mqttd on its store")
    def test_session_expiry_deletes_stored_session(self):
        """session_expiry 1 s: an offline persistent session with queued messages is deleted from the store
        when it expires (mqttd-store no longer lists it), and is not restored by a restart; another session,
        online, stays."""
        if store_tool() is None:
            self.skipTest("mqttd-store not found beside the broker")
        b = self.start_broker(session_expiry=1, log_level="info")
        keeper = self.raw_connected("limits-keeper", port=b.port, clean_session=False)
        self.raw_subscribe(keeper, 1, [("other/t", 1)])
        self.subscribe_offline(b, "limits-expiring")
        self.publish_numbers(b, list(range(3)))
        self.assertEqual(self.store_queue(b, "limits-expiring"), 3, "the session and its queue are stored")
        b.wait_log("event=session_expired", 'client_id="limits-expiring"', timeout=5)
        self.assertTrue(harness.broker.wait_until(lambda: self.store_queue(b, "limits-expiring") is None, 5.0),
                        "mqttd-store still lists the expired session")
        b.kill()
        b.restart()
        self.assertEqual(recovered(b)[1:3], (1, 0), "only the other session is read back, with no queue")
        sub = self.raw(b.port)
        present, rc = sub.connect("limits-expiring", clean_session=False)
        self.assertEqual((present, rc), (False, 0), "the expired session is gone after the restart")
        sub.expect_open("(no message of the expired session)")


if __name__ == "__main__":
    harness.run()
