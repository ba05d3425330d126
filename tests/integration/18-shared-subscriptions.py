#!/usr/bin/python3
"""Shared subscriptions: `$share/GROUP/FILTER` consumer groups (README: "Shared subscriptions").

Each matching message goes to exactly one member of each group, members on any worker (threads 4 here, and
connections are dealt round the workers in turn); a member that goes away hands back what it had not
finished; mosquitto_sub and paho are members like any other; membership and queues survive a restart; a
malformed group name gets SUBACK 0x80. The syntax and rules are MQTT 5's (4.8.2), which brokers accept from
MQTT 3.1.1 clients too."""

import subprocess
import time

import harness
from harness import (BrokerTestCase, HOST, PUBREL, SUBACK, die_with_parent, packet_id_of, parse_publish,
                     pubcomp_packet, pubrec_packet, subscribe_packet)

GROUP_FILTER = "$share/workers/orders/#"


def publish_lines(port, topic, lines, qos, timeout=60.0):
    """mosquitto_pub -l: one message per line of stdin, on one connection, in order."""
    cmd = ["mosquitto_pub", "-h", HOST, "-p", str(port), "-t", topic, "-q", str(qos), "-l"]
    done = subprocess.run(cmd, input=("\n".join(lines) + "\n").encode(), capture_output=True, timeout=timeout,
                          preexec_fn=die_with_parent)
    if done.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (" ".join(cmd), done.returncode, done.stderr.decode().strip()))


def drain(members, expected_total, timeout=30.0):
    """Collects the payloads each paho member receives until expected_total arrived in all; returns them by
    member (index), each in arrival order."""
    got = [[] for _ in members]
    deadline = time.monotonic() + timeout
    while sum(len(g) for g in got) < expected_total and time.monotonic() < deadline:
        for i, m in enumerate(members):
            while True:
                try:
                    got[i].append(m.messages.get_nowait().payload.decode())
                except harness.queue.Empty:
                    break
        time.sleep(0.01)
    return got


class SharedSubscriptions(BrokerTestCase):
    # Python members read slower than mosquitto_pub -l publishes: room to queue the whole stream.
    broker_overrides = {"threads": 4, "max_queued_messages": 100000}

    def test_each_message_to_exactly_one_member_evenly(self):
        # Four members, one per worker; 10,000 QoS 1 messages [MQTT-4.3.2]: each delivered once in the group,
        # round_robin (the default) within 1 % of an even share.
        members = [self.paho("member-%d" % i) for i in range(4)]
        for m in members:
            self.assertEqual(m.subscribe(GROUP_FILTER, 1), 1)
        numbers = ["%05d" % i for i in range(10000)]
        publish_lines(self.port, "orders/new", numbers, 1)
        got = drain(members, len(numbers))
        every = [p for g in got for p in g]
        self.assertEqual(len(every), len(numbers), "all 10,000 delivered within the group (counts: %s)"
                         % [len(g) for g in got])
        self.assertEqual(sorted(every), numbers, "each message exactly once across the group")
        for i, g in enumerate(got):
            self.assertLessEqual(abs(len(g) - 2500), 25, "member %d's share %d is within 1 %% of 2,500" % (i, len(g)))
            self.assertEqual(g, sorted(g), "one member sees one publisher's messages in order [MQTT-4.6.0-6]")
        members[0].assert_no_message(why="(nothing after the last)")

    def test_member_killed_mid_stream_loses_nothing_and_duplicates_no_qos2_message(self):
        # A raw member answers PUBREC for the first messages it gets, then stops answering and dies without a
        # DISCONNECT. What it PUBREC'd is its own [MQTT-4.3.3-1]; what it had not is sent to the others.
        victim = self.raw_connected("victim")
        self.raw_subscribe(victim, 1, [(GROUP_FILTER, 2)])
        others = [self.paho("other-%d" % i) for i in range(2)]
        for m in others:
            self.assertEqual(m.subscribe(GROUP_FILTER, 2), 2)
        publisher = self.paho("publisher")
        numbers = ["%04d" % i for i in range(300)]
        for n in numbers[:150]:
            publisher.publish("orders/x", n, qos=2, wait=False)
        owned, unanswered = [], []
        while len(owned) + len(unanswered) < 20:
            p = victim.read_packet(10.0)
            if p.type == PUBREL:
                victim.send(pubcomp_packet(packet_id_of(p)))
                continue
            m = parse_publish(p)
            if len(owned) < 10:
                victim.send(pubrec_packet(m.packet_id))
                owned.append(m.payload.decode())
            else:
                unanswered.append(m.payload.decode())  # in flight: not the victim's yet
        victim.close()  # killed: no DISCONNECT; its clean session ends [MQTT-3.1.2-6]
        for n in numbers[150:]:
            publisher.publish("orders/x", n, qos=2, wait=False)
        got = drain(others, len(numbers) - len(owned))
        at_others = [p for g in got for p in g]
        self.assertEqual(sorted(owned + at_others), numbers,
                         "every message reached the group once: the victim's PUBREC'd %d, the others the rest "
                         "(the %d it left unanswered among them)" % (len(owned), len(unanswered)))
        self.assertTrue(set(unanswered) <= set(at_others), "what the victim never PUBREC'd went to another member")

    def test_shared_and_ordinary_subscription_on_one_client(self):
        both = self.paho("both")
        self.assertEqual(both.subscribe("$share/g/orders/+", 1), 1)
        self.assertEqual(both.subscribe("orders/+", 1), 1)
        peer = self.paho("peer")
        self.assertEqual(peer.subscribe("$share/g/orders/+", 1), 1)
        numbers = ["%02d" % i for i in range(20)]
        publish_lines(self.port, "orders/a", numbers, 1)
        got = drain([both, peer], 20 + 20)
        ordinary_and_group = got[0]
        self.assertEqual(len(ordinary_and_group) + len(got[1]), 40,
                         "its own copy of each, plus the group's copies shared with the peer")
        group_at_both = sorted(ordinary_and_group)
        for n in numbers:
            group_at_both.remove(n)  # its ordinary copy of every message
        self.assertEqual(sorted(group_at_both + got[1]), numbers, "the group delivered each message once")
        self.assertEqual((len(group_at_both), len(got[1])), (10, 10), "in turn")

    def test_mosquitto_sub_and_paho_share_a_group(self):
        sub = self.mosquitto_sub("$share/mix/m/#", qos=1, count=10, fmt="MSG|%p")
        member = self.paho("paho-member")
        self.assertEqual(member.subscribe("$share/mix/m/#", 1), 1)
        numbers = ["%02d" % i for i in range(20)]
        publish_lines(self.port, "m/x", numbers, 1)
        rc, lines = sub.wait()
        self.assertEqual(rc, 0, sub.output())
        at_sub = [l[len("MSG|"):] for l in lines if l.startswith("MSG|")]
        at_paho = drain([member], 10)[0]
        self.assertEqual(sorted(at_sub + at_paho), numbers, "one copy of each between the two")
        self.assertEqual(len(at_sub), 10)

    def test_invalid_group_names_get_suback_0x80(self):
        c = self.raw_connected("bad-groups")
        # (A '+' or '#' inside a level makes the whole filter malformed [MQTT-4.7.1-2], [MQTT-4.7.1-3]: that
        # closes the connection, as any malformed SUBSCRIBE does; a group of just "+" is a valid filter level.)
        filters = ["$share/+/t", "$share//t", "$share/g", "$share/ok/t", "$share"]
        c.send(subscribe_packet(1, [(f, 1) for f in filters]))
        ack = c.expect(SUBACK)
        self.assertEqual(list(ack.body[2:]), [0x80, 0x80, 0x80, 1, 0x80],
                         "a malformed share filter fails alone (MQTT 5, 4.8.2) [MQTT-3.9.3-1]")
        c.expect_open("(a refused filter does not close the connection)")

    def test_joining_a_group_sends_no_retained_message(self):
        self.mosquitto_pub("orders/kept", "retained", qos=1, retain=True)
        member = self.paho("late-member")
        self.assertEqual(member.subscribe("$share/g/orders/#", 1), 1)
        member.assert_no_message(wait=0.5, why="(MQTT 5, 4.8.2: no retained messages for a shared subscription)")
        plain = self.paho("plain")
        plain.subscribe("orders/#", 1)
        self.assertEqual(plain.expect_message(why="(the retained message is there)").payload, b"retained")

    def test_unsubscribe_leaves_the_group(self):
        a, b = self.paho("leaver"), self.paho("stayer")
        for m in (a, b):
            m.subscribe(GROUP_FILTER, 1)
        a.unsubscribe(GROUP_FILTER)
        numbers = ["%02d" % i for i in range(10)]
        publish_lines(self.port, "orders/u", numbers, 1)
        self.assertEqual(drain([b], 10)[0], numbers)
        a.assert_no_message(why="(it left the group)")


class SharedSubscriptionsAcl(BrokerTestCase):
    def test_the_acl_judges_the_filter_part(self):
        # Anonymous clients may read orders/# only (Mosquitto's ACL format: lines before any "user" line are
        # for anonymous clients). mqttd grants a filter a read rule covers (README: "ACL files"); for a share
        # filter that is its FILTER part, whatever the group is called.
        acl = harness.os.path.join(harness.base_dir(), "shared-acl-%d" % harness.os.getpid())
        with open(acl, "w") as f:
            f.write("topic read orders/#\ntopic write #\n")
        if harness.TARGET.kind == "mosquitto":
            self.skipTest("mqttd's configuration")
        b = self.start_broker(auth={"allow_anonymous": True, "acl_file": acl})
        member = self.raw_connected("acl-member", port=b.port)
        member.send(subscribe_packet(1, [("$share/orders/orders/#", 1), ("$share/g/secret/#", 1), ("$share/g/#", 1)]))
        self.assertEqual(list(member.expect(SUBACK).body[2:]), [1, 0x80, 0x80],
                         "orders/# is readable; secret/# and # are not [MQTT-3.9.3-2]")
        publisher = self.paho("acl-publisher", port=b.port)
        publisher.publish("secret/x", "secret", qos=1)
        publisher.publish("orders/x", "order", qos=1)
        got = member.receive_publishes("order")
        self.assertEqual(got, [], "nothing before the readable message")


class SharedSubscriptionsRestart(BrokerTestCase):
    def setUp(self):
        super().setUp()
        if harness.TARGET.kind != "mqttd":
            self.skipTest("restarts a broker on its own store (mqttd's persistence)")

    def test_membership_and_queue_survive_a_restart(self):
        b = self.broker
        member = self.paho("durable-member", clean_session=False)
        self.assertEqual(member.subscribe(GROUP_FILTER, 1), 1)
        member.disconnect()
        numbers = ["%02d" % i for i in range(10)]
        publish_lines(b.port, "orders/r", numbers, 1)  # acknowledged: stored in the offline member's queue
        b.kill()  # a crash
        b.restart()
        again = self.paho("durable-member", clean_session=False, port=b.port)
        self.assertTrue(again.session_present)
        self.assertEqual(drain([again], 10)[0], numbers, "the queue came back, in order")
        # Still a member, without subscribing again: a new message reaches it through the group.
        self.mosquitto_pub_at(b.port, "orders/after", "after")
        self.assertEqual(again.expect_message(why="(through the restored group)").payload, b"after")

    def mosquitto_pub_at(self, port, topic, message):
        harness.mosquitto_pub(port, topic, message, qos=1)


if __name__ == "__main__":
    harness.main()
