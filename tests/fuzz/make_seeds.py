#!/usr/bin/python3
"""Writes the seed inputs of tests/fuzz/corpus/ (the fuzzers grow the corpus from them; `.ci/fuzz` merges
what they find back). Run from the project root: /usr/bin/python3 tests/fuzz/make_seeds.py"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import (connect_packet, packet, publish_packet, puback_packet, pubrec_packet,  # noqa: E402
                     pubrel_packet, pubcomp_packet, subscribe_packet, unsubscribe_packet)

HERE = os.path.dirname(os.path.abspath(__file__))

PACKETS = {
    "connect": connect_packet("c1", clean_session=False, keepalive=30, will=("w/t", b"bye", 1, True),
                              username="u", password="p"),
    "connect_31": connect_packet("c1", protocol_name="MQIsdp", protocol_level=3),
    "publish_q0": publish_packet("a/b", b"hello"),
    "publish_q1": publish_packet("a/b", b"hello", qos=1, packet_id=7),
    "publish_q2_retain": publish_packet("a/b", b"x", qos=2, retain=True, packet_id=9),
    "acks": puback_packet(1) + pubrec_packet(2) + pubrel_packet(3) + pubcomp_packet(4),
    "subscribe": subscribe_packet(5, [("a/+", 1), ("#", 2), ("$SYS/#", 0)]),
    "unsubscribe": unsubscribe_packet(6, ["a/+", "#"]),
    "ping_disconnect": packet(0xC0) + packet(0xE0),
}


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def decoder_seeds():
    folder = os.path.join(HERE, "corpus", "decoder")
    for name, data in PACKETS.items():
        write(folder, name, bytes([4, len(data) // 2]) + data)  # limit selector, split point, stream
    write(folder, "stream_all", bytes([4, 17]) + b"".join(PACKETS.values()))
    write(folder, "too_large_claim", bytes([1, 3]) + b"\x30\xff\xff\xff\x7f")


def shard_seeds():
    """Scripts for shard_fuzz.cpp: op, slot, operands (see the switch there)."""
    folder = os.path.join(HERE, "corpus", "shard")

    def send(slot, data):
        return bytes([1, slot, len(data)]) + data

    sub = subscribe_packet(1, [("t", 1)])
    pub = b"".join(publish_packet("t", b"m%d" % i, qos=1, packet_id=i + 1) for i in range(5))
    takeover = (bytes([0, 0, 0, 0, 0]) + send(0, sub) + bytes([2, 0])        # dev on shard 0, subscribes, drops
                + bytes([0, 1, 2, 1, 1]) + send(1, pub)                        # a publisher on shard 1
                + bytes([0, 2, 0, 0, 1]) + bytes([7, 0])                       # dev again on shard 1
                + bytes([0, 3, 0, 0, 2]) + bytes([3, 0, 3, 0, 7, 0]))          # and again on shard 2
    write(folder, "takeover", bytes([1, 2, 7]) + takeover)
    clean = (bytes([0, 0, 1, 1, 0]) + send(0, subscribe_packet(2, [("#", 2)]))
             + bytes([0, 1, 1, 0, 1]) + bytes([2, 0]) + bytes([7, 0]) + bytes([4, 0, 40]))
    write(folder, "clean_and_expiry", bytes([0, 1, 3]) + clean)
    blocked = (bytes([0, 0, 2, 0, 0]) + send(0, sub) + bytes([5, 0, 1]) + bytes([0, 1, 0, 1, 1])
               + send(1, pub) + bytes([5, 0, 0]) + bytes([7, 0]))
    write(folder, "write_blocked", bytes([2, 1, 5]) + blocked)
    group = subscribe_packet(3, [("$share/g/t", 2)])
    shared = (bytes([0, 0, 0, 1, 0]) + send(0, group)                          # a (clean) on shard 0 joins g
              + bytes([0, 1, 1, 1, 1]) + send(1, group)                        # b (clean) on shard 1 too
              + bytes([0, 2, 2, 1, 1]) + send(2, pub)                          # c publishes to the group
              + bytes([6, 0, 4]) + bytes([2, 0]) + bytes([7, 0]))              # a leaves mid-stream
    write(folder, "shared_member_leaves", bytes([0, 1, 9]) + shared)


if __name__ == "__main__":
    decoder_seeds()
    shard_seeds()
