#!/usr/bin/python3
"""Authentication and authorization with Mosquitto's own files (README "Authentication and authorization").

Password files are made at test time by Debian's mosquitto_passwd ($7$, PBKDF2-SHA512, 101 iterations) and by
mqttd-passwd (its default $argon2id$, and $7$ with -H sha512-pbkdf2), so the same files serve both brokers. The
ACL file (ACL below) has anonymous rules, user rules with a deny, and %c/%u patterns. Clients are
mosquitto_pub/_sub with -u/-P, raw sockets (byte-exact CONNACK and SUBACK codes), and a storm of 1,000 wrong
passwords beside a client whose message rate is measured (it prints the rates). Negative checks ("not
delivered") wait for a later marker message. Every test starts its own broker with failed_login_delay 0, except
those about slowing: all clients come from 127.0.0.1, so one test's failures would slow the next login.

Under --mosquitto (2.0.11) these deviations are named where they matter:
- a wrong password, an unknown user or a username without password gets CONNACK 5 (not authorized), not 4
  (bad user name or password): bad_credentials() below;
- every SUBSCRIBE is granted (the ACL only filters deliveries), so SUBACK 0x80 tests are mqttd only;
- a will the client may not write is accepted at CONNECT (and dropped when it would be published);
- a listener's own allow_anonymous needs per_listener_settings, and then a password_file of its own;
- its password checks are not slowed, its file errors and reload logs differ: those tests are mqttd only.
mqttd-passwd comes from --passwd, or from next to --broker; without it the tests that need it skip.
"""

import json
import os
import re
import selectors
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time

import harness
from harness import (BrokerTestCase, HOST, PUBACK, PUBLISH, SUBACK, TARGET, connect_packet, mqttd_only,
                     not_sanitized, packet, publish_packet, pubrel_packet, subscribe_packet)

MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
wait_until = harness.broker.wait_until

# user -> (password, how the hash is made). "admin" reads and writes everything.
USERS = {
    "admin": ("admin-pass", "mosquitto_passwd"),
    "mosq-user": ("mosq-pass", "mosquitto_passwd"),            # $7$ 101 iterations (mosquitto_passwd 2.0.11)
    "argon-user": ("argon-pass", "mqttd-passwd"),              # $argon2id$ (mqttd-passwd's default)
    "pbkdf2-user": ("pbkdf2-pässwörd", "mqttd-passwd -H sha512-pbkdf2"),  # $7$ 210000 iterations, UTF-8 password
}

ACL = """\
# Rules before the first "user" line apply to anonymous clients.
topic read public/#
topic write anon/in/#

user admin
topic readwrite #
topic readwrite $SYS/#

user mosq-user
topic readwrite data/#
topic deny data/secret/#
topic read feed/#
topic write inbox/#

user argon-user
topic readwrite data/#

user pbkdf2-user
topic readwrite data/#

pattern readwrite devices/%c/#
pattern read users/%u/#
"""


def bad_credentials():
    """The CONNACK code for a wrong password, an unknown user or a missing password: 4 (bad user name or
    password). Mosquitto deviation: 2.0.11 answers 5 (not authorized) to all three."""
    return 5 if TARGET.kind == "mosquitto" else 4


def connack(code):
    # [MQTT-3.2.2-4] session present is 0 whenever the return code is not 0.
    return bytes([0x20, 0x02, 0x00, code])


def run_tool(cmd, timeout=30.0):
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                          preexec_fn=harness.die_with_parent)
    if done.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (" ".join(map(str, cmd)), done.returncode,
                                                  done.stderr.decode("utf-8", "replace")))
    return done


def run_client(cmd, timeout=10.0):
    """mosquitto_pub/_sub that may fail: the CompletedProcess (its exit status is the CONNACK code)."""
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              preexec_fn=harness.die_with_parent, text=True)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish within %.0f s" % (" ".join(cmd), timeout))


class AuthFiles:
    """A password file and an ACL file in a directory of the test's own, replaced atomically (as an
    operator's tooling would) so that a SIGHUP never reads half a file."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.passwords = os.path.join(directory, "passwd")
        self.acl = os.path.join(directory, "acl")

    def add_user(self, user, password, tool="mosquitto_passwd"):
        """Adds (or replaces) user with the tool named in USERS; -c when the file does not exist yet."""
        create = [] if os.path.exists(self.passwords) else ["-c"]
        if tool == "mosquitto_passwd":
            if not os.access(MOSQUITTO_PASSWD, os.X_OK):
                raise AssertionError("%s is missing (Debian package mosquitto)" % MOSQUITTO_PASSWD)
            run_tool([MOSQUITTO_PASSWD] + create + ["-b", self.passwords, user, password])
        else:
            options = tool.split()[1:]
            run_tool([TARGET.passwd] + options + create + ["-b", self.passwords, user, password])

    def hash_of(self, user):
        with open(self.passwords) as f:
            for line in f:
                name, _, hashed = line.strip().partition(":")
                if name == user:
                    return hashed
        raise AssertionError("%s is not in %s" % (user, self.passwords))

    def read(self, path):
        with open(path) as f:
            return f.read()

    def write(self, path, text):
        with open(path + ".new", "w") as f:
            f.write(text)
        os.replace(path + ".new", path)

    def write_acl(self, text):
        self.write(self.acl, text)


class Auth(BrokerTestCase):
    """Each test gets its own password file (USERS) and ACL file (ACL) and starts its own broker."""

    def setUp(self):
        super().setUp()
        self.files = AuthFiles(os.path.join(harness.base_dir(), self.id().split(".")[-1]))
        self.users = {}
        for user, (password, tool) in USERS.items():
            if tool.startswith("mqttd-passwd") and TARGET.passwd is None:
                continue                          # the tests that need these users skip
            self.files.add_user(user, password, tool)
            self.users[user] = password
        self.files.write_acl(ACL)

    def need_user(self, user, reason=""):
        if user not in self.users:
            self.skipTest("no mqttd-passwd (--passwd) to make the %s entry %s" % (user, reason))
        return self.users[user]

    # ------------------------------------------------------------------------------------- brokers

    def start_auth_broker(self, allow_anonymous=False, password_file=True, acl_file=True,
                          failed_login_delay=0, **auth):
        """mqttd, or mosquitto, on the test's files. failed_login_delay is 0 unless the test is about it:
        every client here comes from 127.0.0.1, so one test's wrong passwords would slow the next login."""
        if TARGET.kind == "mosquitto":
            settings = ["log_type all", "allow_anonymous %s" % ("true" if allow_anonymous else "false")]
            if password_file:
                settings.append("password_file %s" % self.files.passwords)
            if acl_file:
                settings.append("acl_file %s" % self.files.acl)
            return self.keep(harness.BrokerProcess.start_mosquitto(harness.base_dir(), settings=settings))
        options = {"allow_anonymous": allow_anonymous}
        if failed_login_delay is not None:
            options["failed_login_delay"] = failed_login_delay
        if password_file:
            options["password_file"] = self.files.passwords
        if acl_file:
            options["acl_file"] = self.files.acl
        options.update(auth)
        return self.start_mqttd(options)

    def start_mqttd(self, auth, listeners=None, **top_level):
        config = {"listeners": listeners or [{"type": "tcp", "bind": HOST, "port": 0}]}
        config.update(harness.MQTTD_DEFAULTS)
        config["auth"] = auth
        config.update(top_level)
        return self.keep(harness.BrokerProcess.start_mqttd(TARGET.path, config, harness.base_dir()))

    def keep(self, b):
        self.brokers.append(b)
        self.addCleanup(b.stop)
        self._default_broker = self._default_broker or b
        return b

    def reload(self, b, outcome="event=auth_reloaded"):
        """SIGHUP, then wait until the broker says it re-read its files. Mosquitto logs "Reloading config."
        before it reloads, but reloads in the same pass of its single-threaded loop, so any packet sent after
        the line appeared is handled with the new files."""
        if TARGET.kind == "mosquitto":
            outcome = "Reloading config"
        before = b.log_count(outcome)
        b.signal(signal.SIGHUP)
        return b.wait_log(outcome, count=before + 1)[-1]

    # ------------------------------------------------------------------------------------- clients

    def client(self, client_id, user=None, password=None, port=None, **kwargs):
        """A raw client connected as user (with its password from USERS unless given); CONNACK 0 required."""
        if user is not None and password is None:
            password = self.need_user(user)
        c = self.raw(port)
        session_present, rc = c.connect(client_id, username=user, password=password, **kwargs)
        self.assertEqual(rc, 0, "CONNACK for %r as %r [MQTT-3.1.4-4]" % (client_id, user))
        return c

    def refused(self, client_id, code, why, port=None, **connect_args):
        """CONNECT must get CONNACK `code` (session present 0) and then be closed [MQTT-3.2.2-4][MQTT-3.2.2-5]."""
        c = self.raw(port)
        c.send(connect_packet(client_id, **connect_args))
        c.expect_bytes(connack(code), timeout=10.0, why=why + " [MQTT-3.2.2-4]")
        c.expect_closed(why="after CONNACK %d %s [MQTT-3.2.2-5]" % (code, why))
        return c

    def watcher(self, client_id="watcher", filters=(("#", 2),)):
        """admin, subscribed to everything it may read: sees what the broker really routed."""
        c = self.client(client_id, "admin")
        self.raw_subscribe(c, 1, list(filters))
        return c

    def publish(self, c, topic, payload, qos=0, retain=False, packet_id=1):
        """Publishes and completes the QoS flow from the publisher's side (PUBACK, or PUBREC/PUBREL/PUBCOMP):
        a publish the client may not write is still acknowledged at its QoS [MQTT-3.3.5-2]."""
        c.send(publish_packet(topic, payload, qos=qos, retain=retain, packet_id=packet_id if qos else None))
        why = "for a QoS %d PUBLISH to %s [MQTT-3.3.4-1][MQTT-3.3.5-2]" % (qos, topic)
        if qos == 1:
            c.expect_bytes(packet(0x40, struct.pack("!H", packet_id)), why=why)
        elif qos == 2:
            c.expect_bytes(packet(0x50, struct.pack("!H", packet_id)), why=why)
            c.send(pubrel_packet(packet_id))
            c.expect_bytes(packet(0x70, struct.pack("!H", packet_id)), why=why)

    def received(self, c, marker_topic="zz/marker", publisher=None):
        """Everything c receives before a marker (a payload of its own) that admin publishes after the
        messages under test."""
        if publisher is None:
            publisher = self.client("marker-%d" % time.monotonic_ns(), "admin")
        marker = b"marker %d" % time.monotonic_ns()
        self.publish(publisher, marker_topic, marker, qos=1, packet_id=999)
        return [(m.topic, m.payload) for m in c.receive_publishes(marker)]

    def suback(self, c, packet_id, filters):
        c.send(subscribe_packet(packet_id, filters))
        p = c.expect(SUBACK, why="for SUBSCRIBE %s" % (filters,))
        self.assertEqual(harness.packet_id_of(p), packet_id, "SUBACK packet id [MQTT-3.8.4-2]")
        return list(p.body[2:])

    # ================================================================================ authentication

    def test_good_credentials_for_every_hash_kind(self):
        """mosquitto_sub and mosquitto_pub with -u/-P, for a $7$ entry from mosquitto_passwd, an $argon2id$
        and a $7$ entry (UTF-8 password) from mqttd-passwd [MQTT-3.1.2-19][MQTT-3.1.2-21][MQTT-3.1.4-4]."""
        b = self.start_auth_broker()
        self.assertTrue(self.files.hash_of("mosq-user").startswith("$7$101$"), self.files.hash_of("mosq-user"))
        for user, prefix in (("mosq-user", "$7$"), ("argon-user", "$argon2id$v=19$m=19456,t=2,p=1$"),
                             ("pbkdf2-user", "$7$210000$")):
            with self.subTest(user=user):
                if user == "argon-user" and self.is_mosquitto:
                    self.skipTest("mosquitto 2.0.11 does not read $argon2id$ hashes (2.1 does)")
                password = self.need_user(user)
                self.assertTrue(self.files.hash_of(user).startswith(prefix), self.files.hash_of(user))
                creds = ["-u", user, "-P", password]
                sub = harness.MosquittoSub(b.port, "data/%s/#" % user, qos=1, count=1, extra=creds)
                self.addCleanup(sub.kill)
                harness.mosquitto_pub(b.port, "data/%s/hello" % user, "hi from " + user, qos=1, extra=creds)
                rc, lines = sub.wait()
                self.assertEqual((rc, lines), (0, ["data/%s/hello hi from %s" % (user, user)]),
                                 "mosquitto_sub -u %s received what mosquitto_pub -u %s published" % (user, user))
        if not self.is_mosquitto:
            self.assertTrue(b.log_lines("event=connect ", 'username="mosq-user"'), "the log names the user")

    def test_wrong_password_gets_connack_4_and_close(self):
        b = self.start_auth_broker()
        for user in ("mosq-user", "argon-user", "pbkdf2-user"):
            with self.subTest(user=user):
                if user == "argon-user" and self.is_mosquitto:
                    self.skipTest("mosquitto 2.0.11 does not read $argon2id$ hashes")
                self.need_user(user)
                self.refused("wrong-" + user, bad_credentials(), "for %s with a wrong password" % user,
                             username=user, password="not-" + self.users[user])
                done = run_client(["mosquitto_pub", "-h", HOST, "-p", str(b.port), "-t", "data/x", "-m", "x",
                                   "-u", user, "-P", "wrong"])
                self.assertEqual(done.returncode, bad_credentials(),
                                 "mosquitto_pub exits with the CONNACK code: %s" % done.stderr)
        if not self.is_mosquitto:
            rejected = b.log_count("event=connect_rejected", "connack=4", 'reason="bad username or password"')
            self.assertEqual(rejected, 2 * 3, "one line per refused CONNECT")

    def test_unknown_user_and_missing_password_are_bad_credentials(self):
        self.start_auth_broker()
        self.refused("who", bad_credentials(), "for a user not in the file", username="nobody", password="x")
        self.refused("nopw", bad_credentials(), "for a known user without a password", username="mosq-user")
        self.refused("empty", bad_credentials(), "for an empty password", username="mosq-user", password="")
        self.refused("case", bad_credentials(), "for the user name in another case", username="MOSQ-USER",
                     password="mosq-pass")

    @mqttd_only("mosquitto 2.0.11 checks passwords on its event loop; no timing is promised")
    def test_unknown_user_takes_as_long_as_a_wrong_password(self):
        """An attacker must not learn from the answer's timing which user names exist: an unknown user is
        checked against a hash as costly as the file's (argon2id here)."""
        self.need_user("argon-user")
        self.files.write(self.files.passwords, "")
        for i in range(3):
            self.files.add_user("argon-%d" % i, "pw-%d" % i, "mqttd-passwd")
        self.start_auth_broker()

        def seconds(**connect_args):
            c = self.raw()
            start = time.monotonic()
            c.send(connect_packet("timing", **connect_args))
            c.expect_bytes(connack(4), why="for %s" % connect_args)
            return time.monotonic() - start

        wrong, unknown = [], []
        for _ in range(7):                        # interleaved, so both see the same machine load
            wrong.append(seconds(username="argon-1", password="guess"))
            unknown.append(seconds(username="no-such-user", password="guess"))
        wrong_ms, unknown_ms = 1000 * statistics.median(wrong), 1000 * statistics.median(unknown)
        print("\n    median CONNACK 4: wrong password %.1f ms, unknown user %.1f ms" % (wrong_ms, unknown_ms))
        self.assertGreater(wrong_ms, 5.0, "an argon2id check takes milliseconds (m=19456 KiB, t=2)")
        # Bounds far from the expected 1:1 (a miss in the user table alone would be ~100x faster), so that a
        # loaded machine cannot fail it; password_file's unit test pins the cost the dummy check has.
        self.assertGreater(unknown_ms, 0.4 * wrong_ms, "an unknown user is answered as slowly as a wrong password")
        self.assertLess(unknown_ms, 2.5 * wrong_ms, "nor slower")

    def test_anonymous_refused_with_connack_5(self):
        b = self.start_auth_broker(allow_anonymous=False)
        self.refused("anon", 5, "for a client without a user name when anonymous access is off")
        done = run_client(["mosquitto_pub", "-h", HOST, "-p", str(b.port), "-t", "public/x", "-m", "x"])
        self.assertEqual(done.returncode, 5, "mosquitto_pub without -u: %s" % done.stderr)
        if not self.is_mosquitto:
            b.wait_log("event=connect_rejected", "connack=5", 'reason="anonymous access not allowed"')

    def test_anonymous_allowed_beside_a_password_file(self):
        """allow_anonymous lets clients without a user name in; a user name is still checked, and a wrong
        password never falls back to anonymous access."""
        self.start_auth_broker(allow_anonymous=True)
        watcher = self.watcher()
        anon = self.client("anon")
        self.publish(anon, "anon/in/x", b"from anonymous", qos=1)
        self.refused("anon-wrong", bad_credentials(), "for a wrong password with anonymous access on",
                     username="mosq-user", password="wrong")
        self.refused("anon-unknown", bad_credentials(), "for an unknown user with anonymous access on",
                     username="nobody", password="x")
        self.client("anon-good", "mosq-user")
        self.assertEqual(self.received(watcher), [("anon/in/x", b"from anonymous")])

    def test_allow_anonymous_per_listener(self):
        """A listener's allow_anonymous overrides the broker's, both ways; clients on both listeners share
        the same messages."""
        if self.is_mosquitto:
            b = self.keep(harness.BrokerProcess.start_mosquitto(
                harness.base_dir(), listeners=[["allow_anonymous false", "password_file " + self.files.passwords],
                                               ["allow_anonymous true", "password_file " + self.files.passwords]],
                settings=["log_type all", "per_listener_settings true"]))
        else:
            b = self.start_mqttd({"allow_anonymous": False, "password_file": self.files.passwords,
                                  "failed_login_delay": 0},
                                 listeners=[{"type": "tcp", "bind": HOST, "port": 0},
                                            {"type": "tcp", "bind": HOST, "port": 0, "allow_anonymous": True}])
        closed, open_ = b.ports
        self.refused("anon-closed", 5, "for an anonymous client on the listener without anonymous access",
                     port=closed)
        anon = self.client("anon-open", port=open_)
        self.raw_subscribe(anon, 1, [("shared/#", 1)])
        user = self.client("user-closed", "mosq-user", port=closed)
        self.publish(user, "shared/x", b"across listeners", qos=1)
        self.assertEqual(anon.expect_publish().payload, b"across listeners")
        self.refused("wrong-open", bad_credentials(), "for a wrong password, even where anonymous access is on",
                     port=open_, username="mosq-user", password="wrong")

        if self.is_mosquitto:
            return
        # The other way round: anonymous on for the broker, off for one listener.
        b2 = self.start_mqttd({"allow_anonymous": True, "password_file": self.files.passwords,
                               "failed_login_delay": 0},
                              listeners=[{"type": "tcp", "bind": HOST, "port": 0, "allow_anonymous": False},
                                         {"type": "tcp", "bind": HOST, "port": 0}])
        self.refused("anon-closed-2", 5, "for an anonymous client where the listener turned it off",
                     port=b2.ports[0])
        self.client("anon-open-2", port=b2.ports[1])

    def test_without_a_password_file_a_username_is_only_a_name(self):
        """No password file: with anonymous access, any username (and password) is let in; without it, a
        client with a username is refused like a wrong password, and one without like an anonymous one."""
        self.start_auth_broker(allow_anonymous=True, password_file=False, acl_file=False)
        self.client("any-name", "whoever", "whatever")
        self.start_auth_broker(allow_anonymous=False, password_file=False, acl_file=False)
        self.refused("named", bad_credentials(), "for a username with no password file to check it against",
                     port=self.brokers[-1].port, username="whoever", password="whatever")
        self.refused("nameless", 5, "for no username, anonymous access off", port=self.brokers[-1].port)

    def test_rejected_connect_ignores_what_follows_it(self):
        """A PUBLISH pipelined behind a CONNECT with a wrong password is never processed [MQTT-3.1.4-5]."""
        self.start_auth_broker()
        watcher = self.watcher()
        c = self.raw()
        c.send(connect_packet("pipelined", username="mosq-user", password="wrong")
               + publish_packet("data/smuggled", b"must not be routed", qos=1, packet_id=1)
               + subscribe_packet(2, [("data/#", 0)]), tolerate_close=True)
        c.expect_bytes(connack(bad_credentials()), why="for the wrong password [MQTT-3.1.4-5]")
        c.expect_closed(why="after CONNACK %d, with nothing for the packets behind it" % bad_credentials())
        self.assertEqual(self.received(watcher), [], "the PUBLISH after a rejected CONNECT [MQTT-3.1.4-5]")

    # ================================================================================= authorization

    @harness.not_under_mosquitto("mosquitto 2.0 grants every SUBSCRIBE and only filters deliveries")
    def test_subscribe_denied_filter_alone_gets_0x80(self):
        """Each filter gets its own return code, in order; only those no read rule covers (or a deny
        covers) fail [MQTT-3.8.4-5][MQTT-3.9.3-1][MQTT-3.9.3-2]."""
        b = self.start_auth_broker()
        c = self.client("dev-1", "mosq-user")
        filters = [("data/#", 1),            # readwrite data/#
                   ("inbox/#", 1),           # write only
                   ("feed/+/news", 2),       # read feed/# covers it
                   ("data/secret/#", 0),     # deny data/secret/#
                   ("#", 0),                 # wider than any read rule
                   ("devices/dev-1/#", 2),   # pattern %c
                   ("devices/dev-2/#", 0),   # someone else's %c
                   ("users/mosq-user/x", 1),  # pattern %u
                   ("users/+/x", 1)]         # a wildcard where %u stands
        codes = self.suback(c, 1, filters)
        self.assertEqual(codes, [1, 0x80, 2, 0x80, 0x80, 2, 0x80, 1, 0x80],
                         "SUBACK return codes, one per filter in order [MQTT-3.8.4-5][MQTT-3.9.3-1]")
        denied = b.wait_log("event=subscribe_denied", 'client_id="dev-1"', count=5)
        self.assertEqual(sorted(re.search(r'filter="([^"]*)"', l).group(1) for l in denied),
                         sorted(["inbox/#", "data/secret/#", "#", "devices/dev-2/#", "users/+/x"]))
        # The refused filters were not subscribed: only data/# delivers.
        admin = self.client("admin-pub", "admin")
        for topic in ("inbox/a", "data/secret/b", "other/c", "devices/dev-2/d", "data/open"):
            self.publish(admin, topic, topic.encode(), qos=1)
        self.assertEqual(self.received(c, "data/zz-marker", publisher=admin), [("data/open", b"data/open")])
        c.expect_open("after a partly refused SUBSCRIBE")

    def test_granted_filter_delivers_only_readable_topics(self):
        """data/# is granted, but data/secret/# stays denied, data/secret itself included (a # also matches
        its parent level [MQTT-4.7.1-2]): each delivery is checked for read access."""
        self.start_auth_broker()
        c = self.client("reader", "mosq-user")
        self.raw_subscribe(c, 1, [("data/#", 1)])
        admin = self.client("admin-pub", "admin")
        for topic in ("data/a", "data/secret/b", "data/secret", "data/secrets", "data/c"):
            self.publish(admin, topic, topic.encode(), qos=1)
        self.assertEqual(self.received(c, "data/zz-marker", publisher=admin),
                         [("data/a", b"data/a"), ("data/secrets", b"data/secrets"), ("data/c", b"data/c")],
                         "what `topic deny data/secret/#` leaves of data/#")

    def test_denied_publish_is_acknowledged_and_dropped(self):
        """A PUBLISH the client may not write gets PUBACK (QoS 1) or PUBREC/PUBCOMP (QoS 2) and goes nowhere;
        the connection stays open [MQTT-3.3.5-2]."""
        b = self.start_auth_broker()
        watcher = self.watcher()
        c = self.client("writer", "mosq-user")
        for qos in (0, 1, 2):
            self.publish(c, "feed/q%d" % qos, b"read-only topic", qos=qos, packet_id=10 + qos)
            self.publish(c, "data/secret/q%d" % qos, b"denied topic", qos=qos, packet_id=20 + qos)
            self.publish(c, "elsewhere/q%d" % qos, b"no rule", qos=qos, packet_id=30 + qos)
        self.publish(c, "data/ok", b"allowed", qos=1, packet_id=40)
        self.publish(c, "inbox/ok", b"write-only topic", qos=2, packet_id=41)
        c.expect_open("after nine denied publishes [MQTT-3.3.5-2]")
        self.assertEqual(self.received(watcher), [("data/ok", b"allowed"), ("inbox/ok", b"write-only topic")])
        if not self.is_mosquitto:
            self.assertEqual(b.log_count("event=publish_denied", 'username="mosq-user"'), 9)

    def test_sys_topics_cannot_be_published_by_clients(self):
        """Even with `topic readwrite $SYS/#`, a client's PUBLISH to $SYS/... is acknowledged and dropped."""
        self.start_auth_broker()
        watcher = self.watcher(filters=[("$SYS/test/#", 1), ("zz/#", 1)])
        admin = self.client("admin-sys", "admin")
        self.publish(admin, "$SYS/test/fake", b"forged broker statistics", qos=1)
        self.publish(admin, "$SYS/test/fake", b"forged and retained", qos=1, retain=True, packet_id=2)
        self.assertEqual(self.received(watcher), [])
        late = self.watcher("late", filters=[("$SYS/test/#", 1), ("zz/#", 1)])
        self.assertEqual(self.received(late), [], "nothing retained under $SYS/test")

    def test_retained_messages_obey_read_and_write_rules(self):
        """Retained messages are sent on subscribe [MQTT-3.3.1-6] only for topics the subscriber may read, and
        a retained PUBLISH the client may not write is not stored."""
        self.start_auth_broker()
        admin = self.client("admin-pub", "admin")
        self.publish(admin, "data/open", b"open", qos=1, retain=True, packet_id=1)
        self.publish(admin, "data/secret/plan", b"secret", qos=1, retain=True, packet_id=2)
        self.publish(admin, "feed/news", b"news", qos=1, retain=True, packet_id=3)
        writer = self.client("writer", "mosq-user")
        self.publish(writer, "feed/rumor", b"may not write feed/", qos=1, retain=True, packet_id=4)
        self.publish(writer, "data/secret/leak", b"may not write data/secret/", qos=1, retain=True, packet_id=5)

        reader = self.client("reader", "mosq-user")
        reader.send(subscribe_packet(1, [("data/#", 1), ("feed/#", 1)]))
        reader.expect(SUBACK)
        got = sorted((t, p) for t, p in self.received(reader, "feed/zz-marker", publisher=admin))
        self.assertEqual(got, [("data/open", b"open"), ("feed/news", b"news")],
                         "retained messages sent to mosq-user on subscribe [MQTT-3.3.1-6]")
        everything = self.watcher("admin-late", filters=[("data/#", 1), ("feed/#", 1), ("zz/#", 1)])
        got = sorted(self.received(everything, "zz/marker", publisher=admin))
        self.assertEqual(got, [("data/open", b"open"), ("data/secret/plan", b"secret"), ("feed/news", b"news")],
                         "retained messages kept: admin's three, none of mosq-user's denied ones")

    def test_will_is_published_where_the_client_may_write(self):
        self.start_auth_broker()
        watcher = self.watcher()
        c = self.client("with-will", "mosq-user", will=("data/will", b"gone", 1, False))
        c.close()                                 # no DISCONNECT: the will is published [MQTT-3.1.2-8]
        m = watcher.expect_publish(why="the will of a client that may write data/will [MQTT-3.1.2-8]")
        self.assertEqual((m.topic, m.payload), ("data/will", b"gone"))

    @harness.not_under_mosquitto("mosquitto 2.0.11 accepts such a CONNECT and drops the will when it fires")
    def test_will_the_client_may_not_write_is_refused_at_connect(self):
        b = self.start_auth_broker()
        self.refused("bad-will", 5, "for a will on feed/, which mosq-user may only read",
                     username="mosq-user", password="mosq-pass", will=("feed/will", b"x", 0, False))
        b.wait_log("event=will_denied", 'client_id="bad-will"', 'topic="feed/will"')
        self.refused("no-rule-will", 5, "for a will where mosq-user has no rule", username="mosq-user",
                     password="mosq-pass", will=("elsewhere/will", b"x", 1, True))

    @harness.not_under_mosquitto("mosquitto 2.0.11 checks no will at CONNECT")
    def test_will_on_sys_topic_is_refused_at_connect(self):
        """Clients can never publish under $SYS/, whatever the ACL grants (admin has `topic readwrite $SYS/#`),
        so such a will is one the client may not write: refused at CONNECT like any other."""
        b = self.start_auth_broker()
        self.refused("sys-will", 5, "for a will on $SYS/", username="admin", password="admin-pass",
                     will=("$SYS/will", b"x", 0, False))
        b.wait_log("event=will_denied", 'client_id="sys-will"')

    def test_will_is_checked_again_when_published(self):
        """A will accepted at CONNECT whose topic is no longer writable when it fires (the ACL was reloaded)
        is dropped."""
        b = self.start_auth_broker()
        watcher = self.watcher()
        c = self.client("late-will", "mosq-user", will=("data/will", b"gone", 1, False))
        self.files.write_acl(ACL.replace("topic readwrite data/#", "topic read data/#"))
        self.reload(b)
        c.close()
        if self.is_mosquitto:
            b.wait_log("late-will", "closed its connection")
        else:
            b.wait_log("event=publish_denied", 'client_id="late-will"', 'topic="data/will"')
        self.assertEqual(self.received(watcher), [], "the will on a topic mosq-user may no longer write")

    def test_patterns_substitute_client_id_and_username(self):
        """`pattern readwrite devices/%c/#` and `pattern read users/%u/#`: each client reaches its own place."""
        self.start_auth_broker()
        admin = self.client("admin-pub", "admin")
        watcher = self.watcher(filters=[("devices/#", 1), ("zz/#", 1)])
        user = "mosq-user"                       # no user rule of its own under devices/ or users/
        dev = self.client("dev-7", user)
        self.publish(dev, "devices/dev-7/temp", b"21.5", qos=1)                      # %c: its own
        self.publish(dev, "devices/dev-8/temp", b"spoofed", qos=1, packet_id=2)      # %c: another device's
        self.publish(dev, "users/%s/inbox" % user, b"read only", qos=1, packet_id=3)  # %u: read, not write
        self.raw_subscribe(dev, 1, [("devices/dev-7/#", 1), ("users/%s/#" % user, 1)])
        self.publish(admin, "users/%s/inbox" % user, b"for you", qos=1, packet_id=2)
        self.publish(admin, "devices/dev-7/cmd", b"reboot", qos=1, packet_id=3)
        self.publish(admin, "users/other-user/inbox", b"not for you", qos=1, packet_id=4)
        self.assertEqual(self.received(watcher, publisher=admin),
                         [("devices/dev-7/temp", b"21.5"), ("devices/dev-7/cmd", b"reboot")])
        self.assertEqual(self.received(dev, "users/%s/zz" % user, publisher=admin),
                         [("users/%s/inbox" % user, b"for you"), ("devices/dev-7/cmd", b"reboot")])

    def test_wildcards_in_client_id_do_not_widen_patterns(self):
        """A client id of "+" must not turn `devices/%c/#` into devices/+/# (Mosquitto refuses pattern access
        to such ids)."""
        self.start_auth_broker(allow_anonymous=True)
        watcher = self.watcher(filters=[("devices/#", 1), ("zz/#", 1)])
        for client_id in ("+", "#"):
            with self.subTest(client_id=client_id):
                c = self.client(client_id, "mosq-user")
                self.publish(c, "devices/victim/cmd", b"via %s" % client_id.encode(), qos=1)
                self.publish(c, "devices/%s" % ("+" if client_id == "+" else "x"), b"x", qos=0)
                c.disconnect()
        self.assertEqual(self.received(watcher), [])

    def test_deny_wins_over_allow(self):
        """mosq-user's `topic deny data/secret/#` comes after `topic readwrite data/#` in the file and still
        wins, for writing and for reading."""
        self.start_auth_broker()
        watcher = self.watcher()
        c = self.client("denied", "mosq-user")
        self.raw_subscribe(c, 1, [("data/#", 1)])
        self.publish(c, "data/secret/x", b"denied write", qos=1)
        admin = self.client("admin-pub", "admin")
        self.publish(admin, "data/secret/y", b"denied read", qos=1)
        self.publish(admin, "data/public", b"allowed", qos=1, packet_id=2)
        self.assertEqual(self.received(c, "data/zz", publisher=admin), [("data/public", b"allowed")])
        self.assertEqual([t for t, _ in self.received(watcher, publisher=admin)],
                         ["data/secret/y", "data/public", "data/zz"], "admin reads all of it")

    def test_anonymous_rules_come_before_any_user_line(self):
        self.start_auth_broker(allow_anonymous=True)
        watcher = self.watcher()
        anon = self.client("anon")
        self.raw_subscribe(anon, 1, [("public/#", 1)])
        self.publish(anon, "public/x", b"may only read public/", qos=1)
        self.publish(anon, "anon/in/y", b"may write anon/in/", qos=1, packet_id=2)
        self.publish(anon, "data/z", b"user rules are not for anonymous clients", qos=1, packet_id=3)
        admin = self.client("admin-pub", "admin")
        self.publish(admin, "public/news", b"for everyone", qos=1)
        self.assertEqual(self.received(watcher, publisher=admin),
                         [("anon/in/y", b"may write anon/in/"), ("public/news", b"for everyone")])
        self.assertEqual(self.received(anon, "public/zz", publisher=admin), [("public/news", b"for everyone")])

    # ================================================================================ SIGHUP reload

    def test_sighup_reload_applies_to_connected_clients(self):
        """New ACL rules apply to the next PUBLISH of a client connected before the reload, and a user added to
        the password file can log in; no connection is dropped."""
        b = self.start_auth_broker()
        watcher = self.watcher()
        c = self.client("stays", "mosq-user")
        self.publish(c, "data/before", b"allowed before", qos=1)
        self.refused("late-1", bad_credentials(), "for a user not yet in the file", username="late-user",
                     password="late-pass")

        self.files.write_acl(ACL.replace("topic readwrite data/#", "topic read data/#")
                             .replace("topic write inbox/#", "topic write inbox/#\ntopic write news/#"))
        self.files.add_user("late-user", "late-pass")
        self.reload(b)
        self.publish(c, "data/after", b"no longer allowed", qos=1, packet_id=2)
        self.publish(c, "news/after", b"newly allowed", qos=1, packet_id=3)
        c.expect_open("the client connected before the reload is still connected")
        self.assertEqual(self.received(watcher), [("data/before", b"allowed before"),
                                                  ("news/after", b"newly allowed")])
        self.client("late-2", "late-user", "late-pass")
        watcher.expect_open("the watcher is still connected")

    @mqttd_only("mqttd's reload log and its keep-the-old-files rule")
    def test_broken_files_on_reload_keep_the_old_rules(self):
        b = self.start_auth_broker()
        watcher = self.watcher()
        c = self.client("stays", "mosq-user")
        self.files.write_acl(ACL.replace("topic readwrite data/#", "topic sideways data/#"))
        line = self.reload(b, "event=auth_reload_failed")
        self.assertIn("%s:10:" % self.files.acl, line, "the reason names the file and line")
        self.assertIn("kept=previous", line)
        self.publish(c, "data/still", b"old rules", qos=1)

        self.files.write_acl(ACL)
        self.files.write(self.files.passwords, self.files.read(self.files.passwords) + "broken line\n")
        line = self.reload(b, "event=auth_reload_failed")
        self.assertIn(self.files.passwords + ":", line)
        self.client("after-broken-passwd", "admin")            # the old password file is still in use
        self.assertEqual(self.received(watcher), [("data/still", b"old rules")])
        self.assertTrue(b.is_running())

    @mqttd_only("mqttd's start-up errors")
    def test_broken_file_at_startup_exits_2_naming_file_and_line(self):
        good_passwd = self.files.read(self.files.passwords)
        cases = [
            ("broken-passwd", "password_file", good_passwd + "mallory:$7$101$not-base64\n",
             len(good_passwd.splitlines()) + 1),
            ("passwd-nocolon", "password_file", "just-a-name\n", 1),
            ("acl-access", "acl_file", ACL.replace("topic deny data/", "topic sideways data/"), 11),
            ("acl-filter", "acl_file", "user x\ntopic read a/#/b\n", 2),
            ("acl-user", "acl_file", "topic read a\nuser\n", 2),
        ]
        for name, key, text, line in cases:
            with self.subTest(case=name):
                path = os.path.join(self.files.dir, name)
                self.files.write(path, text)
                auth = {"allow_anonymous": False, "password_file": self.files.passwords,
                        "acl_file": self.files.acl, key: path}
                config = {"listeners": [{"type": "tcp", "bind": HOST, "port": 0}], "auth": auth}
                code, log = harness.broker.run_mqttd_once(TARGET.path, config, harness.base_dir())
                self.assertEqual(code, 2, "exit status for a broken %s; output:\n%s" % (key, log))
                self.assertIn("%s:%d:" % (path, line), log, "the message names file:line")
                config_path = os.path.join(self.files.dir, name + ".json")
                self.files.write(config_path, json.dumps(config))
                done = run_client([TARGET.path, "--check", "-c", config_path])
                self.assertEqual(done.returncode, 2, "mqttd --check reads the files too: %s" % done.stderr)
                self.assertIn("%s:%d:" % (path, line), done.stderr)

    # ============================================================================ failed-login slowing

    @mqttd_only("failed_login_delay")
    def test_failed_logins_from_one_address_are_slowed(self):
        """After N failures from 127.0.0.1 the next attempt waits N x failed_login_delay before its password is
        hashed, capped at max_failed_login_delay; it also slows a right password from that address."""
        delay = 0.3
        b = self.start_auth_broker(failed_login_delay=delay, max_failed_login_delay=1.0)
        taken = []
        for i in range(4):
            c = self.raw()
            start = time.monotonic()
            c.send(connect_packet("guess-%d" % i, username="mosq-user", password="guess-%d" % i))
            c.expect_bytes(connack(4), timeout=10.0, why="for guess %d" % i)
            taken.append(time.monotonic() - start)
        print("\n    CONNACK 4 after %s s (failed_login_delay %.1f s, cap 1.0 s)"
              % (", ".join("%.2f" % t for t in taken), delay))
        for failures, seconds in enumerate(taken):
            expected = min(1.0, failures * delay)
            self.assertGreaterEqual(seconds, expected - 0.02, "attempt after %d failures" % failures)
            # Upper bounds loose (a loaded or sanitized machine is slow): the delay_ms lines below pin the
            # delay itself.
            self.assertLess(seconds, expected + 1.0, "attempt after %d failures" % failures)
        slowed = b.log_lines("event=login_slowed")
        self.assertEqual([re.search(r"delay_ms=(\d+)", l).group(1) for l in slowed], ["300", "600", "900"])

        start = time.monotonic()
        self.client("right-after-failures", "mosq-user")
        took = time.monotonic() - start
        self.assertGreaterEqual(took, 1.0 - 0.02, "4 failures x 0.3 s, capped at 1.0 s, before a right password")
        self.assertLess(took, 2.0)

    @mqttd_only("failed_login_delay")
    def test_failed_login_delay_defaults_to_1_second(self):
        """Without failed_login_delay in the file (1 s per failure), the attempt after 2 failures waits 2 s."""
        b = self.start_auth_broker(failed_login_delay=None)
        for i in range(2):
            c = self.raw()
            c.send(connect_packet("d-%d" % i, username="mosq-user", password="guess"))
            c.expect_bytes(connack(4), timeout=5.0)
        c = self.raw()
        start = time.monotonic()
        c.send(connect_packet("d-2", username="nobody", password="guess"))
        c.expect_bytes(connack(4), timeout=5.0, why="for an unknown user after 2 failures")
        took = time.monotonic() - start
        print("\n    after 2 failures the third CONNACK 4 came after %.2f s" % took)
        self.assertGreaterEqual(took, 1.98)
        self.assertLess(took, 3.0)
        b.wait_log("event=login_slowed", "delay_ms=2000")

    # ==================================================================================== the storm

    @mqttd_only("failed_login_delay, and the rate of a client beside the storm")
    @not_sanitized("measures a message rate")
    def test_wrong_password_storm_leaves_a_healthy_client_its_rate(self):
        """1,000 connections from 127.0.0.1 with wrong passwords (for an argon2id user) arrive at once while an
        authenticated client does QoS 1 round trips (PUBLISH, PUBACK, its own message back). With slowing at
        its default (1 s per failure), most of the storm waits on timers, not on hashes, until connect_timeout
        closes it; the healthy client keeps most of its rate, a user logging in from another address
        (127.0.0.2) during the storm is let in, and the broker stays up."""
        user = "argon-user"
        self.need_user(user, "(the storm should cost what a real password file costs)")
        connect_timeout = 6
        b = self.start_mqttd({"allow_anonymous": False, "password_file": self.files.passwords,
                              "acl_file": self.files.acl}, connect_timeout=connect_timeout)   # default delays
        healthy = self.client("healthy", user)
        self.raw_subscribe(healthy, 1, [("data/healthy", 1)])
        rate = RoundTrips(healthy, "data/healthy")
        before = rate.measure(2.0)

        storm = WrongPasswordStorm(b.port, 1000, user)
        self.addCleanup(storm.close_all)
        storm.start()
        login = TimedLogin(b.port, "other-host", user, self.users[user], source="127.0.0.2", after=0.5,
                           timeout=connect_timeout + 1)
        during = rate.measure(3.0)
        storm.wait(connect_timeout + 5.0)
        login.join(connect_timeout + 2)
        after = rate.measure(1.0)

        slowed = b.log_count("event=login_slowed")
        print("\n    healthy client: %.0f round trips/s before, %.0f during the storm's first 3 s, %.0f after it"
              "\n    storm of %d wrong passwords (sent in %.2f s, over in %.1f s): %d CONNACK 4, %d closed "
              "without CONNACK, %d left open, %d other; %d login_slowed lines"
              "\n    login from 127.0.0.2 started 0.5 s into the storm: %s"
              % (before, during, after, storm.n, storm.sent_in or -1, storm.resolved_in or -1, storm.refused,
                 storm.closed, storm.waiting, len(storm.other), slowed, login.outcome))
        self.assertTrue(b.is_running(), "the broker survived the storm")
        healthy.expect_open("the healthy client is still connected")
        self.assertEqual((storm.waiting, storm.other), (0, []), "every storm connection was answered or closed")
        self.assertGreater(during, 0.3 * before, "the healthy client kept most of its round-trip rate")
        self.assertGreater(slowed, storm.n // 2, "most of the storm waited on the failed-login timer before "
                           "its password was hashed")
        self.assertEqual(login.rc, 0, "a right password from another address during the storm: %s" % login.outcome)


class TimedLogin(threading.Thread):
    """One CONNECT with a username and password, after a pause, from a source address of its own; records
    the CONNACK code and how long it took (rc None: closed or timed out without one)."""

    def __init__(self, port, client_id, user, password, source, after, timeout):
        super().__init__(daemon=True)
        self.args = (port, client_id, user, password, source, after, timeout)
        self.rc = None
        self.outcome = "not finished"
        self.start()

    def run(self):
        port, client_id, user, password, source, after, timeout = self.args
        time.sleep(after)
        start = time.monotonic()
        try:
            c = harness.RawClient(port, source=source)
            try:
                _, self.rc = c.connect(client_id, timeout=timeout, username=user, password=password)
                self.outcome = "CONNACK %d after %.2f s" % (self.rc, time.monotonic() - start)
            finally:
                c.close()
        except (AssertionError, OSError) as e:
            self.outcome = "no CONNACK after %.2f s (%s)" % (time.monotonic() - start, str(e).splitlines()[0])


class RoundTrips:
    """QoS 1 round trips of one connected client to a topic it is subscribed to: PUBLISH, then both PUBACK
    and the message itself (acknowledged) before the next."""

    def __init__(self, client, topic):
        self.client = client
        self.topic = topic
        self.next_id = 1

    def once(self):
        pid = self.next_id
        self.next_id = self.next_id % 60000 + 1
        self.client.send(publish_packet(self.topic, b"ping %d" % pid, qos=1, packet_id=pid))
        got_ack = got_msg = False
        while not (got_ack and got_msg):
            p = self.client.read_packet(5.0)
            if p.type == PUBACK and harness.packet_id_of(p) == pid:
                got_ack = True
            elif p.type == PUBLISH:
                m = harness.parse_publish(p)
                self.client.send(harness.puback_packet(m.packet_id))
                got_msg = got_msg or m.payload == b"ping %d" % pid
            else:
                raise AssertionError("unexpected %s during round trips" % p)

    def measure(self, seconds):
        """Round trips per second over `seconds`."""
        count, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            self.once()
            count += 1
        return count / (time.monotonic() - start)


class WrongPasswordStorm(threading.Thread):
    """n connections, opened as fast as possible from a thread of their own, each sending a CONNECT with a
    wrong password; wait() collects how each ended: CONNACK 4, closed without CONNACK, or still open."""

    def __init__(self, port, n, user):
        super().__init__(daemon=True)
        self.port, self.n, self.user = port, n, user
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.refused = 0          # CONNACK 4
        self.closed = 0           # closed by the broker without a CONNACK (connect_timeout)
        self.other = []
        self.waiting = n
        self.sent_in = self.resolved_in = None
        self._done = threading.Event()
        self._stop_now = False

    def run(self):
        start = time.monotonic()
        pending = {}
        for i in range(self.n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            self.socks.append(s)
            s.connect_ex((HOST, self.port))
            pending[s] = connect_packet("storm-%04d" % i, username=self.user, password="wrong-%d" % i)
            self.sel.register(s, selectors.EVENT_WRITE, b"")
        sent = 0
        deadline = time.monotonic() + 60
        while self.sel.get_map() and time.monotonic() < deadline and not self._stop_now:
            for key, events in self.sel.select(timeout=0.2):
                s = key.fileobj
                if events & selectors.EVENT_WRITE:
                    try:
                        s.send(pending.pop(s))
                        self.sel.modify(s, selectors.EVENT_READ, b"")
                        sent += 1
                        if sent == self.n:
                            self.sent_in = time.monotonic() - start
                    except OSError:
                        self._end(s, "closed")
                    continue
                try:
                    data = s.recv(16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                got = key.data + data
                if not data and not got:
                    self._end(s, "closed")
                elif got == connack(4):
                    self._end(s, "refused")
                elif data and len(got) < 4:
                    self.sel.modify(s, selectors.EVENT_READ, got)
                else:
                    self.other.append(got)
                    self._end(s, None)
        self.resolved_in = time.monotonic() - start
        self._done.set()

    def _end(self, s, outcome):
        self.sel.unregister(s)
        self.waiting -= 1
        if outcome == "refused":
            self.refused += 1
        elif outcome == "closed":
            self.closed += 1
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass

    def wait(self, timeout):
        self._done.wait(timeout)

    def close_all(self):
        self._stop_now = True
        self._done.wait(5)
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


if __name__ == "__main__":
    harness.run()
