#!/usr/bin/python3
"""Reload without drops (README: "Reload"): SIGHUP re-reads the whole configuration file, validated as at start-up.

- 100 clients on a listener that stays are not dropped: after the reload each answers PINGREQ and receives a
  message published after it;
- a listener added to the file accepts, a removed one refuses and its clients are disconnected;
- the log level, a limit (max_packet_size, for new connections; max_connections, at once) and the auth section
  (a password file, anonymous clients no longer allowed) apply;
- an invalid file keeps everything running as it was and says why (file, key, reason);
- settings that need a restart (threads) are kept, with a warning naming them.

Listeners are told apart by address: 127.0.0.1 (kept), 127.0.0.2 (removed), 127.0.0.3 (added), all port 0.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

import harness as h
from harness import BrokerTestCase, mqttd_only

CLIENTS = 100


def listener(bind):
    return {"type": "tcp", "bind": bind, "port": 0}


class ReloadTest(BrokerTestCase):

    def write_config(self, b, config):
        """Replaces b's configuration file atomically (as an operator's tooling would)."""
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        with open(b.config_path + ".new", "w") as f:
            f.write(text)
        os.replace(b.config_path + ".new", b.config_path)

    def reload(self, b, outcome="event=reloaded"):
        """SIGHUP, then the outcome's log line."""
        before = b.log_count(outcome)
        b.signal(signal.SIGHUP)
        return b.wait_log(outcome, count=before + 1, timeout=10.0)[-1]

    def start(self, config):
        return self.start_broker(config_text=json.dumps(config, indent=2))

    def base_config(self):
        return {"listeners": [listener("127.0.0.1"), listener("127.0.0.2")], "threads": 2, "log_level": "debug",
                "auth": {"allow_anonymous": True}, "max_packet_size": 268435460}

    def connect_many(self, port, count, prefix, host=h.HOST):
        clients = []
        for i in range(count):
            c = self.raw(port, host=host)
            _, rc = c.connect("%s-%d" % (prefix, i))
            self.assertEqual(rc, 0, "CONNACK for %s-%d" % (prefix, i))
            clients.append(c)
        return clients

    def assert_all_served(self, port, clients, topic, why):
        """Every client answers PINGREQ and receives a message published after it subscribed."""
        for i, c in enumerate(clients):
            c.expect_open("client %d %s" % (i, why))
        publisher = self.raw_connected("publisher-%s" % topic.replace("/", "-"), port)
        publisher.send(h.publish_packet(topic, b"after"))
        publisher.expect_open()
        for i, c in enumerate(clients):
            p = h.parse_publish(c.expect(h.PUBLISH, why="(client %d %s)" % (i, why)))
            self.assertEqual((p.topic, p.payload), (topic, b"after"))

    def new_listener_port(self, b, bind):
        """The port of a listener started by a reload, from its event=listening line."""
        lines = b.wait_log("event=listening type=tcp addr=%s:" % bind)
        return int(re.search(r"addr=\S+:(\d+)", lines[-1]).group(1))

    @mqttd_only("mqttd's configuration reload")
    def test_reload_keeps_clients_adds_and_removes_listeners(self):
        config = self.base_config()
        b = self.start(config)
        kept_port, removed_port = b.ports
        clients = self.connect_many(kept_port, CLIENTS, "stays")
        for c in clients:
            self.raw_subscribe(c, 1, [("reload/all", 0)])
        on_removed = self.connect_many(removed_port, 3, "removed", host="127.0.0.2")

        # At log_level debug, a client that goes away without DISCONNECT logs a debug line.
        goner = self.raw_connected("goner", kept_port)
        goner.close()
        b.wait_log("level=debug", "event=read_failed")

        if h.TARGET.passwd is None:
            self.skipTest("no mqttd-passwd (--passwd) to make the password file")
        passwd = os.path.join(b.dir, "passwd")
        subprocess.run([h.TARGET.passwd, "-c", "-b", passwd, "alice", "alice-pass"], check=True, timeout=30,
                       stdout=subprocess.DEVNULL)

        config["listeners"] = [listener("127.0.0.1"), listener("127.0.0.3")]
        config["log_level"] = "info"
        config["max_packet_size"] = 1000
        config["max_connections"] = CLIENTS + 3   # the 100, the publisher below, alice, and one more
        config["threads"] = 3
        config["auth"] = {"allow_anonymous": False, "password_file": passwd}
        self.write_config(b, config)
        line = self.reload(b)
        for what in ("log_level", "max_packet_size", "max_connections", "auth", "listeners_added=tcp://127.0.0.3:0",
                     "listeners_removed=tcp://127.0.0.2:0", "needs_restart=threads"):
            self.assertIn(what, line)
        self.assertIn("key=threads", b.wait_log("event=reload_needs_restart")[-1])

        # Nobody on the kept listener was dropped (the publisher logs in: anonymous is now refused).
        for i, c in enumerate(clients):
            c.expect_open("client %d after the reload" % i)
        publisher = self.raw(kept_port)
        _, rc = publisher.connect("publisher", username="alice", password="alice-pass")
        self.assertEqual(rc, 0, "alice is in the new password file")
        publisher.send(h.publish_packet("reload/all", b"after"))
        publisher.expect_open()
        for i, c in enumerate(clients):
            p = h.parse_publish(c.expect(h.PUBLISH, why="(client %d after the reload)" % i))
            self.assertEqual((p.topic, p.payload), ("reload/all", b"after"))

        # The removed listener: its clients are disconnected, and it refuses.
        for c in on_removed:
            c.expect_closed(why="(a client of the removed listener)")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", removed_port), timeout=5).close()

        # The new listener accepts, under the new auth section [MQTT-3.1.2-19].
        new_port = self.new_listener_port(b, "127.0.0.3")
        anonymous = self.raw(new_port, host="127.0.0.3")
        self.assertEqual(anonymous.connect("anonymous")[1], 5, "anonymous is refused now (not authorized)")
        anonymous.expect_closed()
        alice = self.raw(new_port, host="127.0.0.3")
        self.assertEqual(alice.connect("alice", username="alice", password="alice-pass")[1], 0)

        # max_packet_size applies to new connections: a 2,000-byte PUBLISH is too large.
        big = self.raw(kept_port)
        self.assertEqual(big.connect("big", username="alice", password="alice-pass")[1], 0)
        big.send(h.publish_packet("reload/big", b"x" * 2000), tolerate_close=True)
        big.expect_closed(why="(a packet over the new max_packet_size)")

        # max_connections applies at once: 100 + publisher + alice + one more is the limit. (The connections
        # closed above give their places back as they go: the one more may have to wait for that.)
        extra = self.connect_when_placed(kept_port, "extra")
        refused = self.raw(kept_port)
        refused.send(h.connect_packet("refused", username="alice", password="alice-pass"), tolerate_close=True)
        refused.expect_closed(why="(over the new max_connections)")

        # The log level: at info, a client that goes away without DISCONNECT logs no debug line any more. Its
        # place under max_connections comes back once it is gone, after the line it would have logged.
        debug_before = b.log_count("level=debug")
        extra.close()
        self.connect_when_placed(kept_port, "after-extra")
        self.assertEqual(b.log_count("level=debug"), debug_before, "no debug line after log_level info")
        self.assertTrue(b.is_running())

    def connect_when_placed(self, port, client_id, timeout=5.0):
        """A client of alice's that connects as soon as max_connections leaves it a place."""
        deadline = time.monotonic() + timeout
        while True:
            c = self.raw(port)
            c.send(h.connect_packet(client_id, username="alice", password="alice-pass"), tolerate_close=True)
            try:
                p = c.read_packet(5.0)
                self.assertEqual((p.type, p.body[1:]), (h.CONNACK, b"\x00"), "CONNACK for %s" % client_id)
                return c
            except h.ConnectionClosed:
                c.close()
                if time.monotonic() > deadline:
                    raise AssertionError("no place under max_connections for %s within %.1f s" % (client_id, timeout))
                time.sleep(0.05)

    @mqttd_only("mqttd's configuration reload")
    def test_invalid_file_keeps_the_running_configuration(self):
        config = self.base_config()
        b = self.start(config)
        kept_port, second_port = b.ports
        clients = self.connect_many(kept_port, 10, "stays")
        for c in clients:
            self.raw_subscribe(c, 1, [("reload/invalid", 0)])

        broken = dict(config, listeners=[listener("127.0.0.1")], max_inflite=5)
        self.write_config(b, broken)
        line = self.reload(b, "event=reload_failed")
        self.assertIn("file=\"%s\"" % b.config_path, line)
        self.assertIn("key=\"max_inflite\"", line)
        self.assertIn("unknown key", line)
        self.assertIn("kept=running", line)

        self.write_config(b, "{ not json")
        line = self.reload(b, "event=reload_failed")
        self.assertIn("invalid JSON", line)

        # The second listener was not removed, and no client was dropped.
        second = self.raw(second_port, host="127.0.0.2")
        self.assertEqual(second.connect("second")[1], 0)
        self.assert_all_served(kept_port, clients, "reload/invalid", "after a failed reload")

        # A password file that does not parse is part of the configuration too (as for --check).
        passwd = os.path.join(b.dir, "passwd")
        with open(passwd, "w") as f:
            f.write("no-colon-here\n")
        self.write_config(b, dict(config, auth={"allow_anonymous": False, "password_file": passwd}))
        line = self.reload(b, "event=reload_failed")
        self.assertIn(passwd, line)
        anonymous = self.raw(kept_port)
        self.assertEqual(anonymous.connect("still-anonymous")[1], 0, "the running auth section is kept")

        # Fixed, the next reload applies.
        self.write_config(b, dict(config, max_inflight=5))
        self.assertIn("limits=max_inflight", self.reload(b))
        self.assertTrue(b.is_running())

    @mqttd_only("mqttd's configuration reload")
    def test_reload_starts_and_stops_the_http_listener_and_applies_sys_interval(self):
        config = dict(self.base_config(), sys_interval=0)
        b = self.start(config)
        kept_port = b.ports[0]
        client = self.raw_connected("stays-http", kept_port)
        sys_sub = self.raw_connected("sys-watcher", kept_port)
        self.raw_subscribe(sys_sub, 1, [("$SYS/broker/uptime", 0)])

        # An http listener added, and $SYS switched on at one second.
        http_config = dict(config, sys_interval=1,
                           listeners=config["listeners"] + [{"type": "http", "bind": "127.0.0.1", "port": 0}])
        self.write_config(b, http_config)
        self.reload(b)
        line = b.wait_log("event=http_listening")[-1]
        http_port = int(re.search(r" addr=\S+:(\d+)", line).group(1))
        with socket.create_connection((h.HOST, http_port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertIn(b"mqttd_", answer)
        p = h.parse_publish(sys_sub.expect(h.PUBLISH, timeout=5.0, why="($SYS/broker/uptime after sys_interval 1)"))
        self.assertEqual(p.topic, "$SYS/broker/uptime")

        # Removed again: its port refuses; the MQTT client never noticed.
        self.write_config(b, config)
        self.reload(b)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection((h.HOST, http_port), timeout=1).close()
            except OSError:
                break
            self.assertLess(time.monotonic(), deadline, "the removed http listener still accepts")
            time.sleep(0.05)
        client.expect_open("an MQTT client across both reloads")


if __name__ == "__main__":
    h.run()
