#!/usr/bin/python3
"""The http listener's admin API (README "HTTP listener, metrics and the admin API"), driven with curl.

Every test starts mqttd with one MQTT listener and one http listener (port 0; the port is read from the
event=http_listening log line) and an admin password file made by mqttd-passwd (-H sha512-pbkdf2 -I 1000, so a
check costs microseconds, not argon2id's tens of milliseconds). Checked: 401 (with WWW-Authenticate) without or
with wrong credentials and the slowing of failed attempts; listing (paged) and inspecting clients; kicking a
client (it sees its connection closed, its will is published [MQTT-3.1.2-8], and discard_session drops a
persistent session); subscriptions by filter; retained messages read and deleted; reload; 400/404/405/413.
mqttd only: Mosquitto has no such API.
"""

import json
import os
import re
import socket
import subprocess
import time

import harness
from harness import BrokerTestCase, HOST, TARGET

CURL = "/usr/bin/curl"
ADMIN = ("admin", "s3cret:with-colon")


def make_password_file(path, users):
    if os.path.exists(path):
        os.remove(path)
    for i, (user, password) in enumerate(users):
        cmd = [TARGET.passwd, "-H", "sha512-pbkdf2", "-I", "1000"] + (["-c"] if i == 0 else []) + \
              ["-b", path, user, password]
        subprocess.run(cmd, check=True, capture_output=True, timeout=30, preexec_fn=harness.die_with_parent)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:300])


def curl(port, path, method="GET", auth=ADMIN, data=None, timeout=10.0):
    """One request with curl: the status, the headers (lower-case names) and the body."""
    cmd = [CURL, "-sS", "-i", "--max-time", str(timeout), "-X", method]
    if auth is not None:
        cmd += ["-u", "%s:%s" % auth]
    if data is not None:
        cmd += ["--data-binary", "@-", "-H", "Content-Type: application/json", "-H", "Expect:"]
    cmd.append("http://%s:%d%s" % (HOST, port, path))
    done = subprocess.run(cmd, input=(data or b""), capture_output=True, timeout=timeout + 5,
                          preexec_fn=harness.die_with_parent)
    if done.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(cmd), done.stderr.decode("utf-8", "replace")))
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(status, headers, body.decode("utf-8", "replace"))


class AdminApi(BrokerTestCase):
    # admin keys per test, beside the password file
    admin_overrides = {"test_failed_logins_are_slowed": {"failed_login_delay": 0.4},
                       "test_idle_connection_times_out_and_connections_are_bounded": {"idle_timeout": 0.5}}

    def setUp(self):
        super().setUp()
        if TARGET.kind != "mqttd":
            self.skipTest("mqttd only: Mosquitto has no admin API")
        if not os.access(CURL, os.X_OK):
            self.skipTest("%s is missing (Debian package curl)" % CURL)
        if TARGET.passwd is None:
            self.skipTest("mqttd-passwd not found")
        self.dir = os.path.join(harness.base_dir(), "admin-%s" % self._testMethodName)
        os.makedirs(self.dir, exist_ok=True)
        self.password_file = os.path.join(self.dir, "admin.pw")
        make_password_file(self.password_file, [ADMIN])
        admin = {"password_file": self.password_file, "failed_login_delay": 0}
        admin.update(self.admin_overrides.get(self._testMethodName, {}))
        b = self.start_broker(listeners=[{"type": "tcp", "bind": HOST, "port": 0},
                                         {"type": "http", "bind": HOST, "port": 0}],
                              admin=admin)
        self._default_broker = b
        b.wait_log("event=http_listening")
        line = b.log_lines("event=http_listening")[0]
        self.http = int(re.search(r" addr=\S+:(\d+)", line).group(1))

    def get(self, path, **kwargs):
        return curl(self.http, path, **kwargs)

    def expect(self, response, status, why=""):
        self.assertEqual(response.status, status, "%s: %r" % (why, response))
        return response

    # ------------------------------------------------------------------------------- authentication

    def test_api_needs_credentials_and_metrics_do_not(self):
        for auth, why in ((None, "no credentials"), (("admin", "wrong"), "wrong password"),
                          (("nobody", ADMIN[1]), "unknown user")):
            r = self.expect(self.get("/api/v1/clients", auth=auth), 401, why)
            self.assertEqual(r.headers.get("www-authenticate"), 'Basic realm="mqttd", charset="UTF-8"', why)
            self.assertIn("error", r.json())
        # Even an unknown path under /api is not answered before authentication.
        self.expect(self.get("/api/v1/nothing-here", auth=None), 401)
        self.expect(self.get("/api/v1/clients"), 200, "right credentials")
        m = self.expect(self.get("/metrics", auth=None), 200, "metrics_auth defaults to false")
        self.assertTrue(m.headers["content-type"].startswith("text/plain; version=0.0.4"))
        self.assertRegex(m.body, r'(?m)^mqttd_connections_closed_total\{reason="kicked"\} 0$')

    def test_failed_logins_are_slowed(self):
        start = time.monotonic()
        self.expect(self.get("/api/v1/broker", auth=("admin", "wrong-1")), 401)
        first = time.monotonic() - start
        start = time.monotonic()
        self.expect(self.get("/api/v1/broker", auth=("admin", "wrong-2")), 401)
        second = time.monotonic() - start
        self.assertGreaterEqual(second, 0.35, "after one failure the next attempt waits failed_login_delay "
                                              "(first took %.2f s, second %.2f s)" % (first, second))
        self.assertLess(first, 0.35, "the first attempt from an address is not slowed")
        self.assertTrue(self.broker.log_lines("event=admin_auth_failed"))

    def test_api_is_forbidden_without_password_file(self):
        b = self.start_broker(listeners=[{"type": "tcp", "bind": HOST, "port": 0},
                                         {"type": "http", "bind": HOST, "port": 0}])
        b.wait_log("event=http_listening")
        port = int(re.search(r" addr=\S+:(\d+)", b.log_lines("event=http_listening")[0]).group(1))
        self.expect(curl(port, "/api/v1/clients"), 403, "no admin.password_file: the API is never open")
        self.expect(curl(port, "/metrics", auth=None), 200)

    def test_broken_admin_password_file_stops_start_up(self):
        broken = os.path.join(self.dir, "broken.pw")
        with open(broken, "w") as f:
            f.write("admin:$5$not-a-hash-mqttd-reads\n")
        config = {"listeners": [{"type": "tcp", "bind": HOST, "port": 0}, {"type": "http", "bind": HOST, "port": 0}],
                  "admin": {"password_file": broken}, "persistence": {"enabled": False}}
        code, log = harness.broker.run_mqttd_once(TARGET.path, config, harness.base_dir(), timeout=10)
        self.assertEqual(code, 2, "a broken admin.password_file is a configuration error\n" + log)
        self.assertIn("broken.pw:1:", log, "the message names the file and line")

    # ---------------------------------------------------------------------------------------- clients

    def test_list_page_and_inspect_clients(self):
        a = self.paho("api-a", clean_session=False)
        a.subscribe("sensors/+/temp", 1)
        a.subscribe("alerts/#", 0)
        self.paho("api-b").subscribe("other", 0)
        everything = self.expect(self.get("/api/v1/clients"), 200).json()
        self.assertEqual(everything["total"], 2)
        self.assertEqual([c["client_id"] for c in everything["clients"]], ["api-a", "api-b"], "sorted by client id")
        page = self.expect(self.get("/api/v1/clients?limit=1&offset=1"), 200).json()
        self.assertEqual((page["total"], page["limit"], page["offset"]), (2, 1, 1))
        self.assertEqual([c["client_id"] for c in page["clients"]], ["api-b"])

        c = self.expect(self.get("/api/v1/clients/api-a"), 200).json()
        self.assertEqual(c["client_id"], "api-a")
        self.assertTrue(c["connected"])
        self.assertFalse(c["clean_session"])
        self.assertRegex(c["address"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(c["listener"], "tcp 127.0.0.1:%d" % self.port)
        self.assertRegex(c["connected_since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(c["subscriptions"], [{"filter": "alerts/#", "qos": 0}, {"filter": "sensors/+/temp", "qos": 1}])
        self.assertEqual((c["inflight"], c["queued"]), (0, 0))
        self.expect(self.get("/api/v1/clients/no-such-client"), 404)
        # Offline persistent sessions are listed as such.
        a.disconnect()
        harness.broker.wait_until(
            lambda: not self.get("/api/v1/clients/api-a").json()["connected"], 5.0)
        offline = self.get("/api/v1/clients?connected=false").json()
        self.assertEqual([c["client_id"] for c in offline["clients"]], ["api-a"])
        self.assertIsNone(offline["clients"][0]["address"])

    def test_kick_closes_the_connection_and_publishes_the_will(self):
        watcher = self.paho("api-watcher")
        watcher.subscribe("will/#", 1)
        victim = self.raw_connected("api-victim", will=("will/api-victim", b"kicked out", 1, False))
        r = self.expect(self.get("/api/v1/clients/api-victim/kick", method="POST"), 200).json()
        self.assertEqual(r, {"client_id": "api-victim", "was_connected": True, "session_discarded": False})
        victim.expect_closed(timeout=5.0, why="(kicked by the admin API)")
        m = watcher.expect_message(why="(the will of a kicked client: not a DISCONNECT) [MQTT-3.1.2-8]")
        self.assertEqual((m.topic, m.payload), ("will/api-victim", b"kicked out"))
        self.broker.wait_log('event=disconnect client_id="api-victim"', "reason=kicked")
        # A clean session ended with its connection [MQTT-3.1.2-6].
        self.expect(self.get("/api/v1/clients/api-victim"), 404)
        self.expect(self.get("/api/v1/clients/api-victim/kick", method="POST"), 404)
        stats = self.expect(self.get("/api/v1/broker"), 200).json()
        self.assertEqual(stats["counters"]["closed"]["kicked"], 1)
        # The same snapshot as $SYS and /metrics: listeners, workers, traffic.
        self.assertEqual(len(stats["per_worker"]), stats["workers"])
        self.assertTrue(any(l["type"] == "tcp" and l["accepted"] >= 1 for l in stats["listeners"]), stats["listeners"])
        self.assertGreater(stats["counters"]["bytes_received"], 0)
        self.assertGreaterEqual(stats["counters"]["connacks_by_code"]["0"], 1)
        self.assertGreater(stats["uptime_seconds"], 0)

    def test_kick_with_discard_session_drops_a_persistent_session(self):
        c = self.raw_connected("api-durable", clean_session=False)
        self.expect(self.get("/api/v1/clients/api-durable/kick?discard_session=false", method="POST"), 200)
        c.expect_closed(why="(kicked)")
        kept = self.expect(self.get("/api/v1/clients/api-durable"), 200, "a persistent session stays").json()
        self.assertFalse(kept["connected"])
        r = self.expect(self.get("/api/v1/clients/api-durable/kick?discard_session=true", method="POST"), 200).json()
        self.assertEqual(r, {"client_id": "api-durable", "was_connected": False, "session_discarded": True})
        self.expect(self.get("/api/v1/clients/api-durable"), 404, "the discarded session is gone")
        again = self.raw(self.port)
        sp, rc = again.connect("api-durable", clean_session=False)
        self.assertEqual((sp, rc), (False, 0), "no session present after the discard [MQTT-3.2.2-3]")
        self.expect(self.get("/api/v1/clients/api-durable/kick?discard_session=maybe", method="POST"), 400)

    # ------------------------------------------------------------------------- subscriptions, retained

    def test_subscriptions_by_filter(self):
        self.paho("sub-1").subscribe("sensors/+/temp", 1)
        self.paho("sub-2").subscribe("sensors/kitchen/temp", 0)
        self.paho("sub-3").subscribe("lights/#", 2)
        r = self.expect(self.get("/api/v1/subscriptions?filter=sensors/%23"), 200).json()
        self.assertEqual(r["total"], 2)
        self.assertEqual(sorted((s["client_id"], s["filter"], s["qos"]) for s in r["subscriptions"]),
                         [("sub-1", "sensors/+/temp", 1), ("sub-2", "sensors/kitchen/temp", 0)])
        self.assertEqual(self.get("/api/v1/subscriptions").json()["total"], 3)
        self.assertEqual(self.get("/api/v1/subscriptions?limit=2").json()["total"], 3)
        self.assertEqual(len(self.get("/api/v1/subscriptions?limit=2").json()["subscriptions"]), 2)
        self.expect(self.get("/api/v1/subscriptions?filter=a/%23/b"), 400, "not a valid filter")

    def test_retained_read_and_delete(self):
        p = self.paho("ret-pub")
        p.publish("ret/1", b"one", qos=1, retain=True)
        p.publish("ret/2", b"two", qos=0, retain=True)
        p.publish("ret/bin", bytes([0xff, 0x00]), qos=1, retain=True)
        p.publish("other", b"x", qos=1, retain=True)
        r = self.expect(self.get("/api/v1/retained?filter=ret/%2B"), 200).json()
        self.assertEqual(r["total"], 3)
        by_topic = {m["topic"]: m for m in r["retained"]}
        self.assertEqual(by_topic["ret/1"], {"topic": "ret/1", "qos": 1, "payload": "one", "payload_bytes": 3})
        self.assertEqual(by_topic["ret/bin"]["payload_base64"], "/wA=")
        self.expect(self.get("/api/v1/retained", method="DELETE"), 400, "DELETE needs an explicit filter")
        d = self.expect(self.get("/api/v1/retained?filter=ret/1", method="DELETE"), 200).json()
        self.assertEqual(d, {"deleted": 1})
        self.assertEqual([m["topic"] for m in self.get("/api/v1/retained").json()["retained"]],
                         ["other", "ret/2", "ret/bin"])
        # A new subscriber gets what is left, and not the deleted one.
        s = self.paho("ret-sub")
        s.subscribe("ret/#", 1)
        got = sorted(m.topic for m in s.expect_messages(2, why="(the retained messages left)"))
        self.assertEqual(got, ["ret/2", "ret/bin"])
        p.publish("ret/marker", b"marker", qos=1)
        self.assertEqual(s.messages_before("marker"), [], "the deleted retained message is not sent")
        # The stored copy went too: a restart on the same store does not bring it back.
        p.close()
        s.close()
        self.broker.stop()
        self.broker.restart()
        self.broker.wait_log("event=http_listening", count=2)
        line = self.broker.log_lines("event=http_listening")[-1]
        self.http = int(re.search(r" addr=\S+:(\d+)", line).group(1))
        self.assertEqual([m["topic"] for m in self.get("/api/v1/retained").json()["retained"]],
                         ["other", "ret/2", "ret/bin"], "after a restart")

    # ------------------------------------------------------------------------------ reload and errors

    def test_reload_reads_the_admin_password_file_again(self):
        self.expect(self.get("/api/v1/broker", auth=("second", "pw-2")), 401)
        make_password_file(self.password_file, [ADMIN, ("second", "pw-2")])
        r = self.expect(self.get("/api/v1/reload", method="POST"), 200).json()
        self.assertEqual(r["ok"], True)
        self.broker.wait_log("event=reload source=api")
        self.expect(self.get("/api/v1/broker", auth=("second", "pw-2")), 200, "the new user after the reload")
        with open(self.password_file, "w") as f:
            f.write("broken line without a colon\n")
        r = self.expect(self.get("/api/v1/reload", method="POST", auth=("second", "pw-2")), 500).json()
        self.assertEqual(r["ok"], False)
        self.assertIn("admin.pw", r["message"])
        self.expect(self.get("/api/v1/broker", auth=("second", "pw-2")), 200, "a broken file keeps the old one")

    def test_idle_connection_times_out_and_connections_are_bounded(self):
        idle = socket.create_connection((HOST, self.http), timeout=5)
        self.addCleanup(idle.close)
        start = time.monotonic()
        self.assertEqual(idle.recv(1), b"", "an idle HTTP connection is closed")
        self.assertLess(time.monotonic() - start, 3.0, "within about idle_timeout (0.5 s)")
        # max_connections (16 by default): the 17th open connection is closed at once.
        held = [socket.create_connection((HOST, self.http), timeout=5) for _ in range(16)]
        for h in held:
            self.addCleanup(h.close)
        extra = socket.create_connection((HOST, self.http), timeout=5)
        self.addCleanup(extra.close)
        self.assertEqual(extra.recv(1), b"", "past max_connections the connection is closed")
        self.broker.wait_log("event=http_refused")

    def test_bad_requests(self):
        self.expect(self.get("/api/v1/nothing"), 404)
        self.expect(self.get("/nothing", auth=None), 404)
        r = self.expect(self.get("/api/v1/reload"), 405)
        self.assertEqual(r.headers.get("allow"), "POST")
        self.expect(self.get("/api/v1/clients", method="DELETE"), 405)
        r = self.expect(self.get("/api/v1/clients?limit=abc"), 400)
        self.assertIn("limit", r.json()["error"])
        self.expect(self.get("/api/v1/clients?offset=-3"), 400)
        self.expect(self.get("/api/v1/clients/%zz"), 400, "bad percent escape")
        self.expect(self.get("/api/v1/reload", method="POST", data=b"x" * (80 * 1024)), 413,
                    "over max_request_bytes (64 KiB)")
        self.expect(self.get("/api/v1/broker"), 200, "still serving")


if __name__ == "__main__":
    harness.run()
