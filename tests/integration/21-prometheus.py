#!/usr/bin/python3
"""A real Prometheus (Debian's) scrapes mqttd's /metrics from an http listener (README "HTTP listener, metrics
and the admin API"): the target is up, and a counter moves when something happens in the broker.

Prometheus cannot take port 0, so its port is chosen by binding and closing (free_ports); its storage is a
temporary directory. It scrapes every second; every wait is bounded, and it is stopped by its PID.
mqttd only; skipped when /usr/bin/prometheus is missing.
"""

import json
import os
import re
import signal
import subprocess
import urllib.parse
import urllib.request

import harness
from harness import BrokerTestCase, HOST, TARGET

PROMETHEUS = "/usr/bin/prometheus"
wait_until = harness.broker.wait_until


class Prometheus(BrokerTestCase):
    def setUp(self):
        super().setUp()
        if TARGET.kind != "mqttd":
            self.skipTest("mqttd only: Mosquitto has no /metrics")
        if not os.access(PROMETHEUS, os.X_OK):
            self.skipTest("%s is missing (Debian package prometheus)" % PROMETHEUS)

    def start_prometheus(self, target):
        directory = os.path.join(harness.base_dir(), "prometheus")
        os.makedirs(directory, exist_ok=True)
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                    "scrape_configs:\n  - job_name: mqttd\n    static_configs:\n"
                    "      - targets: ['%s']\n" % target)
        (port,) = harness.broker.free_ports(1)
        log = open(os.path.join(directory, "prometheus.log"), "wb")
        proc = subprocess.Popen([PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(directory, "data"),
                                 "--web.listen-address=%s:%d" % (HOST, port)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=harness.die_with_parent)

        def stop():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            log.close()
        self.addCleanup(stop)
        self.prometheus = "http://%s:%d" % (HOST, port)

    def query(self, expression):
        """The instant vector's values, or [] while Prometheus is not ready or has nothing."""
        url = self.prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                answer = json.load(r)
        except OSError:
            return []
        return [float(s["value"][1]) for s in answer.get("data", {}).get("result", [])]

    def test_prometheus_scrapes_metrics_and_sees_a_counter_move(self):
        b = self.start_broker(listeners=[{"type": "tcp", "bind": HOST, "port": 0},
                                         {"type": "http", "bind": HOST, "port": 0}])
        b.wait_log("event=http_listening")
        http = re.search(r" addr=(\S+)", b.log_lines("event=http_listening")[0]).group(1)
        self.start_prometheus(http)
        wait_until(lambda: self.query('up{job="mqttd"}') == [1.0], 20.0)
        self.assertEqual(self.query('up{job="mqttd"}'), [1.0], "Prometheus scraped mqttd's /metrics")
        closed = 'mqttd_connections_closed_total{reason="client_disconnect"}'
        wait_until(lambda: self.query(closed) != [], 5.0)
        before = self.query(closed)
        self.assertEqual(len(before), 1, "one series for %s" % closed)
        for i in range(3):
            harness.mosquitto_pub(b.port, "prom/%d" % i, "x")
        wait_until(lambda: self.query(closed) and self.query(closed)[0] >= before[0] + 3, 8.0)
        self.assertGreaterEqual(self.query(closed)[0], before[0] + 3,
                                "three clients that sent DISCONNECT moved the counter")


if __name__ == "__main__":
    harness.run()
