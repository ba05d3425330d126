#!/usr/bin/python3
"""Resources stay bounded: clients that are slow, silent, greedy or simply many cannot make the broker grow
without bound, stall other clients or crash it. mqttd's limits (README "Configuration"): connect_timeout,
max_packet_size (and the largest legal CONNECT before CONNECT), max_outbound_bytes, write_timeout,
max_connections (broker-wide and per listener), max_queued_messages, max_queued_bytes, session_expiry, and the
counts of what they dropped or closed in the event=summary line at shutdown.

Memory is the broker's resident set (VmRSS in /proc/PID/status), sampled while the load runs: it must level
off (little growth over the second half of the load) and stay within a bound. Each test prints what it
measured. Most limits are mqttd settings, so those tests are mqttd-only; the QoS 1 queue (max_inflight and
max_queued_messages mean the same in Mosquitto) and the 5,000-connection storm also run under --mosquitto.
Every wait is bounded; each test takes at most about 12 s here.
"""

import os
import re
import select
import selectors
import socket
import struct
import threading
import time

import harness
from harness import (BrokerTestCase, PUBLISH, RawClient, HOST, connect_packet, mqttd_only, not_sanitized,
                     publish_packet)

KB = 1024
MB = 1024 * 1024
MAX_PACKET_SIZE = 2 * MB          # mqttd's default (the harness raises it for the other files)
CLAIM_256MB = b"\xff\xff\xff\x7f"  # remaining length 268,435,455: the largest four bytes can carry
SMALL_RCVBUF = 4096               # a subscriber that does not read stalls the broker's writes soon
wait_until = harness.broker.wait_until


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class RssSamples:
    """VmRSS of the broker over time, in kB."""

    def __init__(self, pid):
        self.pid = pid
        self.samples = []             # (monotonic seconds, kB)

    def take(self):
        self.samples.append((time.monotonic(), rss_kb(self.pid)))
        return self.samples[-1][1]

    def peak(self):
        return max(kb for _, kb in self.samples)

    def growth_in_second_half(self):
        """How far the second half of the run rose above everything seen in the first half (kB)."""
        middle = (self.samples[0][0] + self.samples[-1][0]) / 2
        first = max(kb for t, kb in self.samples if t <= middle)
        second = max([kb for t, kb in self.samples if t > middle] or [first])
        return second - first


def summary(broker):
    """Stops the broker (SIGTERM) and returns the counts of its event=summary line. Close clients that do not
    read first: the broker gives each closing connection a few seconds to flush."""
    status = broker.stop()
    if status != 0:
        raise AssertionError("mqttd exited with status %s\n%s" % (status, broker.log_tail()))
    lines = broker.log_lines("event=summary")
    if not lines:
        raise AssertionError("no event=summary line at shutdown\n%s" % broker.log_tail())
    return {k: int(v) for k, v in re.findall(r" (\w+)=(\d+)", lines[-1])}


def wait_closed(sock, timeout):
    """Reads and discards until the peer closes; returns True if it did within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(1 << 20):
                return True
        except (ConnectionResetError, ConnectionAbortedError):
            return True
        except socket.timeout:
            return False
    return False


def is_open(sock):
    """True while the peer has not closed the socket (nothing is read if data waits)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except (ConnectionResetError, ConnectionAbortedError):
        return False


def abort(sock):
    """Closes with RST (SO_LINGER 0), so thousands of closes leave no TIME_WAIT ports behind."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class Drain(threading.Thread):
    """Reads a socket in the background, counting bytes, until it closes or stop() is called. With `marker`,
    sets `found` once those bytes arrive."""

    def __init__(self, sock, marker=None):
        super().__init__(daemon=True)
        self.sock = sock
        self.marker = marker
        self.bytes = 0
        self.found = threading.Event()
        self.closed = threading.Event()
        self._stopping = False
        self._tail = b""
        self.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self._stopping:
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed.set()
                return
            self.bytes += len(chunk)
            if self.marker is not None and not self.found.is_set():
                if self.marker in self._tail + chunk:
                    self.found.set()
                self._tail = chunk[-len(self.marker):]

    def stop(self):
        self._stopping = True
        self.join(2.0)


class Storm:
    """n connections opened at once with non-blocking sockets, each sending CONNECT as soon as it is
    established; run() waits for every one to get its CONNACK or be closed."""

    def __init__(self, port, n, prefix):
        self.sel = selectors.DefaultSelector()
        self.accepted = []            # sockets that got CONNACK 0
        self.closed = 0               # closed by the broker without any CONNACK
        self.other = []               # anything else (another CONNACK code, stray bytes)
        self.socks = []
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            self.socks.append(s)
            s.connect_ex((HOST, port))
            self.sel.register(s, selectors.EVENT_WRITE, [connect_packet("%s-%05d" % (prefix, i)), b""])

    def run(self, timeout):
        deadline = time.monotonic() + timeout
        while self.sel.get_map() and time.monotonic() < deadline:
            for key, events in self.sel.select(timeout=0.2):
                s, state = key.fileobj, key.data
                if events & selectors.EVENT_WRITE:
                    try:
                        s.send(state[0])
                        self.sel.modify(s, selectors.EVENT_READ, state)
                    except OSError:          # refused, or reset by a broker that closed it at once
                        self._closed(s)
                    continue
                try:
                    data = s.recv(16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._closed(s)
                    continue
                state[1] += data
                if len(state[1]) >= 4:
                    self.sel.unregister(s)
                    if state[1] == b"\x20\x02\x00\x00":
                        self.accepted.append(s)
                    else:
                        self.other.append(state[1])
        return len(self.sel.get_map())     # still waiting

    def _closed(self, s):
        self.sel.unregister(s)
        self.closed += 1

    def close_all(self):
        for s in self.socks:
            abort(s)
        self.sel.close()


class ResourceLimits(BrokerTestCase):
    def start(self, **overrides):
        settings = {"max_packet_size": MAX_PACKET_SIZE}
        settings.update(overrides)
        return self.start_broker(**settings)

    def subscriber(self, port, client_id, topic_filter, qos=0, rcvbuf=None, **connect_args):
        c = self.raw(port, rcvbuf=rcvbuf)
        self.assertEqual(c.connect(client_id, **connect_args)[1], 0)
        self.raw_subscribe(c, 1, [(topic_filter, qos)])
        return c

    def go_offline(self, broker, client, client_id):
        """DISCONNECT, and wait until the broker has detached the session (a message routed before that
        would go to the closing connection, not the queue)."""
        n = broker.log_count("event=disconnect", 'client_id="%s"' % client_id)
        client.disconnect()
        broker.wait_log("event=disconnect", 'client_id="%s"' % client_id, count=n + 1)

    def round_trip(self, client, topic, why, packet_id=1):
        """client, subscribed to topic at QoS 1, publishes to it at QoS 1 and must get PUBACK and the message."""
        payload = b"round trip %d" % packet_id
        client.send(publish_packet(topic, payload, qos=1, packet_id=packet_id))
        got = [client.read_packet(5.0) for _ in range(2)]
        publishes = [harness.parse_publish(p) for p in got if p.type == PUBLISH]
        self.assertEqual([p.payload for p in publishes], [payload], "round trip %s: %s" % (why, got))
        client.send(harness.puback_packet(publishes[0].packet_id))

    # ------------------------------------------------------------------------------------------ slowloris

    @mqttd_only("connect_timeout is an mqttd setting")
    def test_slowloris_is_closed_at_connect_timeout(self):
        timeout = 1.5
        b = self.start(connect_timeout=timeout)
        silent = self.raw(b.port)                     # connects and sends nothing
        drip = self.raw(b.port)                       # sends a CONNECT one byte per second
        start = time.monotonic()
        data = connect_packet("drip")
        closed_after = {}
        sent = 0
        while len(closed_after) < 2 and time.monotonic() - start < timeout + 5:
            if "drip" not in closed_after and sent < len(data) and time.monotonic() >= start + sent:
                drip.send(data[sent:sent + 1], tolerate_close=True)
                sent += 1
            open_socks = {"silent": silent.sock, "drip": drip.sock}
            for name in closed_after:
                del open_socks[name]
            readable, _, _ = select.select(list(open_socks.values()), [], [], 0.05)
            for name, s in open_socks.items():
                if s in readable and not is_open(s):
                    closed_after[name] = time.monotonic() - start
        print("\n    connect_timeout %.1f s: silent closed after %.2f s, one-byte-per-second closed after %.2f s "
              "(%d bytes sent)" % (timeout, closed_after.get("silent", -1), closed_after.get("drip", -1), sent))
        for name in ("silent", "drip"):
            self.assertIn(name, closed_after, "the %s client must be closed at connect_timeout" % name)
            self.assertGreaterEqual(closed_after[name], timeout - 0.1, "%s closed before connect_timeout" % name)
            self.assertLess(closed_after[name], timeout + 1.0, "%s closed long after connect_timeout" % name)
        for c in (silent, drip):
            addr = "addr=127.0.0.1:%d" % c.sock.getsockname()[1]
            b.wait_log("event=connect_timeout", addr)
            b.wait_log("event=disconnect", addr, "reason=connect_timeout")
        self.assertEqual(summary(b)["closed_connect_timeout"], 2)

    # ------------------------------------------------------------------------------------ length claims

    @mqttd_only("the CONNECT size limit and lazy receive buffers are mqttd's")
    def test_256mb_length_claims_cost_only_the_bytes_that_arrive(self):
        # The claim is legal after CONNECT at the largest max_packet_size; before CONNECT no packet may claim
        # more than the largest legal CONNECT (327,702 bytes).
        b = self.start(max_packet_size=268435460)
        healthy = self.subscriber(b.port, "healthy", "claims/echo", qos=1)
        rss = RssSamples(b.pid)
        before = rss.take()
        for i in range(8):
            c = self.raw(b.port)
            c.send(b"\x10" + CLAIM_256MB, tolerate_close=True)
            took = c.expect_closed(timeout=2.0, why="for a CONNECT claiming 256 MB")
            self.assertLess(took, 1.0, "a CONNECT claiming 256 MB is closed at once")
        late = []
        for i in range(8):
            c = self.raw(b.port)
            self.assertEqual(c.connect("claim-%d" % i)[1], 0)
            c.send(b"\x30" + CLAIM_256MB + harness.encode_string("claims/big"))
            late.append(c)
        rss.take()
        # Half of them then send 1 MB of their body, slowly, and stop.
        chunk = b"\0" * (64 * KB)
        for _ in range(16):
            for c in late[:4]:
                c.send(chunk)
            rss.take()
            time.sleep(0.05)
        for _ in range(10):
            rss.take()
            time.sleep(0.05)
        self.assertTrue(all(is_open(c.sock) for c in late), "a legal claim after CONNECT keeps the connection")
        self.round_trip(healthy, "claims/echo", "while 8 connections claim 256 MB each")
        growth = rss.peak() - before
        print("\n    VmRSS before %d kB, peak %d kB (+%.1f MB) with 8 claims closed at once and 8 open (4 MB of "
              "body received)" % (before, rss.peak(), growth / 1024.0))
        self.assertLess(growth, 64 * 1024, "VmRSS must grow by less than 64 MB")
        for c in late:
            c.close()
        self.assertTrue(b.is_running())
        self.assertEqual(b.log_count("event=protocol_error", 'client_id=""',
                                     'error="packet larger than the maximum packet size"'), 8)

    # ----------------------------------------------------------------------------- slow consumers (QoS 0)

    @mqttd_only("max_outbound_bytes is an mqttd setting")
    @not_sanitized("it measures the broker's RSS and rate")
    def test_stalled_subscriber_under_a_qos0_flood(self):
        b = self.start(write_timeout=60)
        healthy = self.subscriber(b.port, "healthy-q0", "flood/#", qos=1)
        counter = Drain(healthy.sock, marker=b"end-of-flood")
        pub = self.raw(b.port)
        self.assertEqual(pub.connect("flooder")[1], 0)
        pub.sock.settimeout(5.0)                       # a publisher the broker stops reading from fails here
        batch = publish_packet("flood/data", b"x" * KB) * 64

        healthy_progress = []                          # (monotonic seconds, bytes the healthy subscriber got)

        def flood(seconds, rss=None):
            sent, start = 0, time.monotonic()
            next_sample = start
            while time.monotonic() - start < seconds:
                pub.sock.sendall(batch)
                sent += 64
                if rss is not None and time.monotonic() >= next_sample:
                    rss.take()
                    healthy_progress.append((time.monotonic(), counter.bytes))
                    next_sample += 0.25
            return sent / (time.monotonic() - start)

        alone = flood(2.0)                             # the rate without a stalled subscriber
        stalled = self.subscriber(b.port, "stalled-q0", "flood/#", rcvbuf=SMALL_RCVBUF)
        rss = RssSamples(b.pid)
        before = rss.take()
        rate = flood(8.0, rss)
        middle = (healthy_progress[0][0] + healthy_progress[-1][0]) / 2
        at_middle = max(n for t, n in healthy_progress if t <= middle)
        received = (at_middle - healthy_progress[0][1], healthy_progress[-1][1] - at_middle)
        pub.send(publish_packet("flood/marker", b"end-of-flood", qos=1, packet_id=1))
        pub.expect(harness.PUBACK, 10.0)
        self.assertTrue(counter.found.wait(15.0), "the healthy subscriber got the marker after the flood")
        counter.stop()
        print("\n    publisher %.0f msg/s alone, %.0f msg/s with a stalled subscriber; the healthy subscriber "
              "got %.0f + %.0f MB (first + second half); VmRSS before %d kB, peak %d kB (+%.1f MB), second half "
              "+%d kB" % (alone, rate, received[0] / MB, received[1] / MB, before, rss.peak(),
                          (rss.peak() - before) / 1024.0, rss.growth_in_second_half()))
        self.assertGreater(rate, alone * 0.5, "the publisher is not slowed down much by the stalled subscriber")
        self.assertGreater(min(received), 4 * MB, "the healthy subscriber kept receiving, in both halves")
        # Levelling off: unbounded queues grew by hundreds of MB in the second half. The margin is wide because
        # each worker accepts its own connections (SO_REUSEPORT): when the publisher and the subscribers land
        # on different workers, the deliveries posted to the subscribers' worker wait there while it is behind,
        # bounded by how far it lags, not by max_outbound_bytes (up to ~30 MB seen at 370,000 msg/s in CI).
        # A bound between workers is not built yet (README: "What works, and what does not yet").
        self.assertLess(rss.growth_in_second_half(), 64 * 1024, "VmRSS levels off (second half of the flood)")
        self.assertLess(rss.peak() - before, 96 * 1024,
                        "VmRSS stays within max_outbound_bytes (1 MiB) per subscriber plus the workers' backlog")
        b.wait_log("event=write_blocked", 'client_id="stalled-q0"', "blocked=1")
        b.wait_log("event=message_dropped", "reason=outbound_full", 'client_id="stalled-q0"', "dropped_total=1")
        self.assertTrue(is_open(stalled.sock), "a subscriber that is only slow stays connected")
        stalled.close()
        healthy.close()
        self.assertGreater(summary(b)["dropped_outbound_full"], 1000)

    # ----------------------------------------------------------------------------- slow consumers (QoS 1)

    @not_sanitized("it measures the broker's RSS and rate")
    def test_stalled_subscriber_with_qos1_keeps_its_queue_bounded(self):
        # Mosquitto has the same two settings with the same meaning; the log and the summary are mqttd's.
        inflight, queued, total = 20, 1000, 60000
        b = self.start(max_inflight=inflight, max_queued_messages=queued)
        stalled = self.subscriber(b.port, "stalled-q1", "q1/#", qos=1, rcvbuf=SMALL_RCVBUF)
        pub = self.raw(b.port)
        self.assertEqual(pub.connect("q1-pub")[1], 0)
        acks = Drain(pub.sock)
        rss = RssSamples(b.pid)
        before = rss.take()
        filler = b"." * (KB - 8)
        for start in range(0, total, 200):
            pub.sock.sendall(b"".join(publish_packet("q1/t", b"%08d" % i + filler, qos=1, packet_id=i % 65535 + 1)
                                      for i in range(start, start + 200)))
            rss.take()
        self.assertTrue(wait_until(lambda: acks.bytes >= 4 * total, 15.0),
                        "PUBACK for all %d messages (%d bytes of %d)" % (total, acks.bytes, 4 * total))
        acks.stop()
        rss.take()
        print("\n    %d QoS 1 messages of 1 kB to a stalled subscriber: VmRSS before %d kB, peak %d kB "
              "(+%.1f MB), second half +%d kB" % (total, before, rss.peak(), (rss.peak() - before) / 1024.0,
                                                  rss.growth_in_second_half()))
        self.assertLess(rss.growth_in_second_half(), 12 * 1024, "VmRSS levels off")
        self.assertLess(rss.peak() - before, 24 * 1024, "the queue is bounded by max_queued_messages")
        if not self.is_mosquitto:
            b.wait_log("event=message_dropped", "reason=queue_full", 'client_id="stalled-q1"', "dropped_total=1")
        # The subscriber reads at last: the in-flight window, then the queue, in publish order.
        got = []
        while len(got) < inflight + queued:
            m = stalled.expect_publish(10.0, why="(after %d messages)" % len(got))
            stalled.send(harness.puback_packet(m.packet_id))
            got.append(int(m.payload[:8]))
        self.assertEqual(got, list(range(inflight + queued)), "the kept messages, in order [MQTT-4.6.0-6]")
        pub.send(publish_packet("q1/t", b"marker", qos=1, packet_id=1))
        self.assertEqual(stalled.receive_publishes(b"marker"), [], "nothing beyond the window and the queue")
        stalled.close()
        pub.close()
        if not self.is_mosquitto:
            self.assertEqual(summary(b)["dropped_queue_full"], total - inflight - queued)

    @mqttd_only("max_outbound_bytes is an mqttd setting")
    def test_qos1_waits_in_the_queue_while_the_outbound_is_full(self):
        # Past max_outbound_bytes QoS 0 is dropped, but QoS 1 waits in the session's queue and leaves, in
        # order, once the client reads again.
        n, size = 120, 100 * KB                        # 12 MB: more than the socket buffers hold
        b = self.start(max_outbound_bytes=64 * KB, max_queued_messages=1000)
        sub = self.subscriber(b.port, "slow-q1", "big/#", qos=1, rcvbuf=SMALL_RCVBUF)
        pub = self.raw(b.port)
        self.assertEqual(pub.connect("big-pub")[1], 0)
        for i in range(n):
            pub.send(publish_packet("big/t", b"%06d" % i + b"." * size, qos=1, packet_id=i + 1))
            pub.expect(harness.PUBACK, 10.0)
        b.wait_log("event=write_blocked", 'client_id="slow-q1"', "blocked=1")
        got = []
        while len(got) < n:
            m = sub.expect_publish(10.0, why="(after %d messages)" % len(got))
            sub.send(harness.puback_packet(m.packet_id))
            got.append(int(m.payload[:6]))
        self.assertEqual(got, list(range(n)), "every QoS 1 message, once, in order [MQTT-4.6.0-6]")
        pub.send(publish_packet("big/t", b"marker", qos=1, packet_id=n + 1))
        self.assertEqual(sub.receive_publishes(b"marker"), [])
        self.assertEqual(b.log_count("event=message_dropped"), 0, "no QoS 1 message is dropped")

    # ------------------------------------------------------------------- a publisher that never reads

    @mqttd_only("max_outbound_bytes and write_timeout are mqttd settings")
    @not_sanitized("it measures the broker's RSS and rate")
    def test_publisher_that_never_reads_its_pubacks(self):
        write_timeout = 3
        b = self.start(max_outbound_bytes=64 * KB, write_timeout=write_timeout)
        healthy = self.subscriber(b.port, "healthy-noread", "noread/echo", qos=1)
        pub = self.raw(b.port, rcvbuf=SMALL_RCVBUF)
        self.assertEqual(pub.connect("pub-noread")[1], 0)
        batch = memoryview(b"".join(publish_packet("noread/t", b"p", qos=1, packet_id=i + 1) for i in range(4000)))
        pub.sock.setblocking(False)
        rss = RssSamples(b.pid)
        before = rss.take()
        sent, start, blocked_since = 0, time.monotonic(), None
        view = batch
        while True:
            try:
                n = pub.sock.send(view)
                sent += n
                view = view[n:] or batch
                blocked_since = None
            except BlockingIOError:
                now = time.monotonic()
                blocked_since = blocked_since or now
                if now - blocked_since >= 1.0:
                    break                          # the broker stopped reading from it
                select.select([], [pub.sock], [], 0.1)
            if sent > 400 * MB or time.monotonic() - start > 15:
                self.fail("the broker kept reading from a client that reads none of its PUBACKs: %.0f MB in %.1f s"
                          % (sent / MB, time.monotonic() - start))
        stalled_at = time.monotonic()
        for _ in range(8):
            rss.take()
            time.sleep(0.05)
        print("\n    the broker stopped reading after %.1f MB (%d QoS 1 messages) in %.1f s; VmRSS before %d kB, "
              "peak %d kB (+%.1f MB)" % (sent / MB, sent // 15, stalled_at - start, before, rss.peak(),
                                          (rss.peak() - before) / 1024.0))
        self.assertLess(rss.peak() - before, 32 * 1024, "VmRSS stays bounded")
        b.wait_log("event=write_blocked", 'client_id="pub-noread"', "blocked=1")
        self.round_trip(healthy, "noread/echo", "while a publisher's backlog is full")
        b.wait_log("event=disconnect", 'client_id="pub-noread"', "reason=write_timeout", timeout=write_timeout + 3)
        closed_at = time.monotonic()
        b.wait_log("event=write_timeout", 'client_id="pub-noread"')
        print("    closed with reason=write_timeout %.1f s after its sends stalled" % (closed_at - stalled_at))
        self.assertGreaterEqual(closed_at - start, write_timeout, "no write to it can stall before it published")
        self.assertTrue(wait_closed(pub.sock, 5.0), "the publisher's connection is closed")
        self.round_trip(healthy, "noread/echo", "after the publisher was closed", packet_id=2)
        healthy.close()
        counts = summary(b)
        self.assertEqual(counts["closed_write_timeout"], 1)

    # ------------------------------------------------------------------------------------- write_timeout

    @mqttd_only("write_timeout is an mqttd setting")
    def test_write_timeout_closes_a_subscriber_that_stops_reading(self):
        write_timeout = 2
        b = self.start(write_timeout=write_timeout)
        sub = self.subscriber(b.port, "stops-reading", "wt/#", rcvbuf=SMALL_RCVBUF)
        pub = self.raw(b.port)
        self.assertEqual(pub.connect("wt-pub")[1], 0)
        pub.send(publish_packet("wt/t", b"first"))
        self.assertEqual(sub.expect_publish().payload, b"first", "it reads at first")
        start = time.monotonic()                       # no write to it can stall before this
        batch = publish_packet("wt/t", b"x" * KB) * 256
        for _ in range(64):                            # 16 MB: more than the socket buffers and the backlog
            pub.sock.sendall(batch)
        published = time.monotonic()
        b.wait_log("event=disconnect", 'client_id="stops-reading"', "reason=write_timeout",
                   timeout=published - start + write_timeout + 3)
        closed = time.monotonic()
        print("\n    write_timeout %d s: 16 MB published in %.2f s, the subscriber closed %.2f s after the first "
              "byte of it" % (write_timeout, published - start, closed - start))
        self.assertGreaterEqual(closed - start, write_timeout, "closed before write_timeout")
        self.assertLess(closed - published, write_timeout + 1.5, "closed long after write_timeout")
        b.wait_log("event=write_timeout", 'client_id="stops-reading"')
        self.assertTrue(wait_closed(sub.sock, 10.0), "the subscriber's connection is closed")
        pub.expect_open("the publisher is unaffected")

    # ------------------------------------------------------------------------------------ connect storm

    def test_connect_storm_of_5000(self):
        n = 5000
        b = self.start()
        for i in range(3):                             # persistent sessions, offline during the storm
            c = self.subscriber(b.port, "storm-persist-%d" % i, "storm/persist/%d" % i, qos=1, clean_session=False)
            c.disconnect()
        live = self.subscriber(b.port, "storm-live", "storm/live", qos=1)
        fds_before, rss_before = fd_count(b.pid), rss_kb(b.pid)
        start = time.monotonic()
        storm = Storm(b.port, n, "storm")
        self.addCleanup(storm.close_all)
        opened = time.monotonic() - start
        waiting = storm.run(timeout=20.0)
        took = time.monotonic() - start
        rss_during = rss_kb(b.pid)
        print("\n    %d connections opened in %.2f s; %d CONNACK 0 after %.2f s, %d closed, %d other, %d waiting; "
              "VmRSS %d kB before, %d kB with them (%.1f kB per connection)"
              % (n, opened, len(storm.accepted), took, storm.closed, len(storm.other), waiting, rss_before,
                 rss_during, (rss_during - rss_before) / float(n)))
        self.assertEqual((len(storm.accepted), storm.closed, storm.other, waiting), (n, 0, [], 0),
                         "every connection of the storm gets CONNACK 0")
        self.round_trip(live, "storm/live", "for the live subscriber after the storm")
        publisher = self.raw(b.port)
        self.assertEqual(publisher.connect("storm-publisher")[1], 0)
        for i in range(3):
            publisher.send(publish_packet("storm/persist/%d" % i, b"kept %d" % i, qos=1, packet_id=i + 1))
            publisher.expect(harness.PUBACK)
        fds_during = fd_count(b.pid)
        storm.close_all()
        self.assertTrue(wait_until(lambda: fd_count(b.pid) <= fds_before + 1, 10.0),
                        "the broker closes its side of every connection of the storm: %d file descriptors before, "
                        "%d during, %d after" % (fds_before, fds_during, fd_count(b.pid)))
        for i in range(3):
            c = self.raw(b.port)
            self.assertEqual(c.connect("storm-persist-%d" % i, clean_session=False), (True, 0),
                             "the persistent session survived the storm [MQTT-3.2.2-2]")
            m = c.expect_publish()
            self.assertEqual(m.payload, b"kept %d" % i)
        self.assertTrue(b.is_running())

    @mqttd_only("max_connections is an mqttd setting")
    def test_connect_storm_past_max_connections_is_refused_cleanly(self):
        limit, n = 100, 1000
        b = self.start(max_connections=limit)
        live = self.subscriber(b.port, "storm-live", "storm/live", qos=1)
        storm = Storm(b.port, n, "over")
        self.addCleanup(storm.close_all)
        waiting = storm.run(timeout=20.0)
        print("\n    max_connections %d, 1 open, a storm of %d: %d CONNACK 0, %d closed without CONNACK, %d other"
              % (limit, n, len(storm.accepted), storm.closed, len(storm.other)))
        self.assertEqual((len(storm.accepted), storm.closed, storm.other, waiting),
                         (limit - 1, n - limit + 1, [], 0), "CONNACK 0 up to the limit, then closed without any")
        self.round_trip(live, "storm/live", "for the live subscriber after the storm")
        b.wait_log("event=connection_refused", "reason=max_connections", "refused_total=1")
        storm.close_all()
        live.close()
        self.assertEqual(summary(b)["refused_max_connections"], n - limit + 1)

    # ---------------------------------------------------------------------------------- max_connections

    @mqttd_only("max_connections is an mqttd setting")
    def test_max_connections_broker_wide_and_per_listener(self):
        config = {"listeners": [{"type": "tcp", "bind": HOST, "port": 0, "max_connections": 3},
                                {"type": "tcp", "bind": HOST, "port": 0}],
                  "max_connections": 5}
        b = self.start(**config)
        port_a, port_b = b.ports

        def connected(port, cid):
            c = self.raw(port)
            self.assertEqual(c.connect(cid)[1], 0, "CONNACK for %s" % cid)
            return c

        def refused(port, why):
            c = self.raw(port)
            c.send(connect_packet("refused"), tolerate_close=True)
            c.expect_closed(2.0, why="without CONNACK: %s" % why)

        on_a = [connected(port_a, "a-%d" % i) for i in range(3)]
        refused(port_a, "listener limit 3")
        b.wait_log("event=connection_refused", "reason=max_connections", "port=%d" % port_a)
        on_b = [connected(port_b, "b-%d" % i) for i in range(2)]
        refused(port_b, "broker-wide limit 5")
        b.wait_log("event=connection_refused", "reason=max_connections", "port=%d" % port_b)
        on_a.pop().disconnect()                       # one closes: the next is accepted again

        def accepted_again(port):
            c = RawClient(port)
            try:
                c.send(connect_packet("again"), tolerate_close=True)
                return c.read_packet(2.0).raw == b"\x20\x02\x00\x00"
            except (harness.ConnectionClosed, TimeoutError):
                return False
            finally:
                c.close()
        self.assertTrue(wait_until(lambda: accepted_again(port_a), 5.0, 0.1),
                        "a connection is accepted again once one closed")
        for c in on_a + on_b:
            c.expect_open("connections within the limits are unaffected")
            c.close()
        self.assertGreaterEqual(summary(b)["refused_max_connections"], 2)

    # --------------------------------------------------------------------- max_queued_bytes, session_expiry

    @mqttd_only("max_queued_bytes counts mqttd's way (topic + payload of queued messages)")
    def test_max_queued_bytes(self):
        # One worker: the publishes below reach the offline session before the reconnect that follows their
        # PUBACKs, which with two workers could overtake a cross-worker delivery.
        b = self.start(max_queued_bytes=10000, max_queued_messages=1000, threads=1)
        c = self.subscriber(b.port, "qb-session", "qb/t", qos=1, clean_session=False)
        self.go_offline(b, c, "qb-session")
        pub = self.raw(b.port)
        self.assertEqual(pub.connect("qb-pub")[1], 0)
        for i in range(30):                            # 4 + 1000 bytes each: 9 fit in 10,000
            pub.send(publish_packet("qb/t", b"%04d" % i + b"." * 996, qos=1, packet_id=i + 1))
            pub.expect(harness.PUBACK)
        b.wait_log("event=message_dropped", "reason=queue_bytes_full", 'client_id="qb-session"', "dropped_total=1")
        c = self.raw(b.port)
        self.assertEqual(c.connect("qb-session", clean_session=False), (True, 0))
        pub.send(publish_packet("qb/t", b"end", qos=1, packet_id=100))
        pub.expect(harness.PUBACK)  # read here, or it would pass for the PUBACK of 101 below
        got = [int(m.payload[:4]) for m in c.receive_publishes(b"end")]
        self.assertEqual(got, list(range(9)), "the queued messages, within max_queued_bytes, in order")
        self.go_offline(b, c, "qb-session")
        # A message larger than the whole budget still fits an empty queue; the next one does not.
        pub.send(publish_packet("qb/t", b"big" + b"." * 20000, qos=1, packet_id=101))
        pub.send(publish_packet("qb/t", b"small", qos=1, packet_id=102))
        pub.expect(harness.PUBACK)
        pub.expect(harness.PUBACK)
        c = self.raw(b.port)
        self.assertEqual(c.connect("qb-session", clean_session=False), (True, 0))
        pub.send(publish_packet("qb/t", b"end", qos=1, packet_id=103))
        pub.expect(harness.PUBACK)
        self.assertEqual([m.payload[:3] for m in c.receive_publishes(b"end")], [b"big"])
        c.close()
        pub.close()
        self.assertEqual(summary(b)["dropped_queue_bytes_full"], 22)

    @mqttd_only("session_expiry is an mqttd setting")
    def test_session_expiry(self):
        expiry = 1.0
        b = self.start(session_expiry=expiry)
        c = self.subscriber(b.port, "exp-session", "exp/t", qos=1, clean_session=False)
        c.disconnect()
        c = self.raw(b.port)
        self.assertEqual(c.connect("exp-session", clean_session=False), (True, 0), "back within session_expiry")
        c.disconnect()
        gone = time.monotonic()
        b.wait_log("event=session_expired", 'client_id="exp-session"', timeout=expiry + 3)
        expired_after = time.monotonic() - gone
        self.assertGreaterEqual(expired_after, expiry - 0.1, "expired before session_expiry")
        c = self.raw(b.port)
        self.assertEqual(c.connect("exp-session", clean_session=False), (False, 0),
                         "a session offline longer than session_expiry is gone [MQTT-3.2.2-3]")
        c.send(publish_packet("exp/t", b"no subscription left", qos=1, packet_id=1))
        c.expect(harness.PUBACK)
        c.expect_open("its subscription ended with the session")
        c.close()
        print("\n    session_expiry %.1f s: expired %.2f s after the disconnect" % (expiry, expired_after))
        self.assertEqual(summary(b)["sessions_expired"], 1)


if __name__ == "__main__":
    harness.run()
