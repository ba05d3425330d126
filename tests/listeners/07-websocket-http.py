#!/usr/bin/python3
"""The WebSocket upgrade as raw HTTP/1.1: which requests the broker accepts (101) and how it refuses the others,
each refusal a complete HTTP response with a reason, logged as event=websocket_refused.

[MQTT-6.0.0-3] a client MUST offer the "mqtt" subprotocol; [MQTT-6.0.0-4] the server selects "mqtt". "mqttv3.1"
(the MQTT 3.1 name, still sent by old clients) is accepted and echoed, as Mosquitto does."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listener_harness as h  # noqa: E402

ALLOWED_ORIGIN = "http://localhost:8000"


class WebSocketUpgrade(h.ListenerTestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.start_broker([h.ws_listener(), h.ws_listener(allowed_origins=[ALLOWED_ORIGIN])])
        self.port, self.port_with_origins = self.broker.port(0), self.broker.port(1)

    def upgrade(self, port=None, **kwargs):
        return h.http_upgrade("127.0.0.1", port or self.port, **kwargs)

    def assert_switched(self, response, subprotocol):
        self.assertEqual(response.status, 101, response)
        self.assertEqual(response.headers.get("sec-websocket-protocol"), subprotocol, response)
        self.assertEqual(response.headers.get("sec-websocket-accept"), response.accept_expected, response)
        self.assertEqual(response.headers.get("upgrade", "").lower(), "websocket", response)

    def assert_refused(self, response, status, reason_words):
        self.assertEqual(response.status, status, response)
        self.assertTrue(response.headers.get("content-type", "").startswith("text/plain"), response)
        body = response.body.decode("utf-8", "replace")
        for word in reason_words:
            self.assertIn(word, body, response)
        self.assertNotIn("sec-websocket-accept", response.headers)
        self.broker.wait_log("event=websocket_refused", "status=%d" % status)

    def test_mqtt_subprotocol_accepted(self):
        self.assert_switched(self.upgrade(subprotocol="mqtt"), "mqtt")

    def test_mqtt_chosen_among_several(self):
        self.assert_switched(self.upgrade(subprotocol="chat, mqtt, mqttv3.1"), "mqtt")

    def test_mqttv31_accepted_and_echoed(self):
        self.assert_switched(self.upgrade(subprotocol="mqttv3.1"), "mqttv3.1")

    def test_no_subprotocol_is_400(self):
        self.assert_refused(self.upgrade(subprotocol=None), 400, ["Sec-WebSocket-Protocol", "mqtt"])

    def test_other_subprotocol_is_400(self):
        self.assert_refused(self.upgrade(subprotocol="chat"), 400, ["mqtt"])

    def test_wrong_path_is_404(self):
        self.assert_refused(self.upgrade(path="/ws"), 404, ["/ws", "/mqtt"])

    def test_query_string_ignored_for_path(self):
        self.assert_switched(self.upgrade(path="/mqtt?client=1"), "mqtt")

    def test_disallowed_origin_is_403(self):
        self.assert_refused(self.upgrade(self.port_with_origins, origin="http://evil.example"), 403,
                            ["http://evil.example"])

    def test_allowed_origin_accepted(self):
        self.assert_switched(self.upgrade(self.port_with_origins, origin=ALLOWED_ORIGIN), "mqtt")

    def test_plain_get_is_426_with_a_page(self):
        response = self.upgrade(upgrade=False)
        self.assert_refused(response, 426, ["MQTT", "WebSocket", "/mqtt"])
        self.assertEqual(response.headers.get("upgrade", "").lower(), "websocket", response)

    def test_refusal_closes_and_broker_keeps_serving(self):
        for _ in range(3):
            self.upgrade(subprotocol=None)
        self.assert_switched(self.upgrade(), "mqtt")
        self.assertTrue(self.broker.is_running())


if __name__ == "__main__":
    h.run()
