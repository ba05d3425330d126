#include "broker/http/api.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "broker/core/message.hpp"

using namespace mqttd;
using namespace mqttd::http;
using json = nlohmann::json;

namespace {

std::vector<std::string> path(std::initializer_list<const char*> parts) { return {parts.begin(), parts.end()}; }

}  // namespace

TEST_CASE("api: routes by path and method; unknown paths are 404, known paths with another method 405") {
    CHECK(match_route("GET", path({"metrics"})).which == endpoint::metrics);
    CHECK(match_route("GET", path({"api", "v1", "clients"})).which == endpoint::list_clients);
    CHECK(match_route("GET", path({"api", "v1", "clients", "any/id"})).which == endpoint::get_client);
    CHECK(match_route("POST", path({"api", "v1", "clients", "x", "kick"})).which == endpoint::kick_client);
    CHECK(match_route("GET", path({"api", "v1", "subscriptions"})).which == endpoint::list_subscriptions);
    CHECK(match_route("GET", path({"api", "v1", "retained"})).which == endpoint::list_retained);
    CHECK(match_route("DELETE", path({"api", "v1", "retained"})).which == endpoint::delete_retained);
    CHECK(match_route("GET", path({"api", "v1", "broker"})).which == endpoint::broker_stats);
    CHECK(match_route("POST", path({"api", "v1", "reload"})).which == endpoint::reload);

    CHECK(match_route("GET", path({"api", "v2", "clients"})).status == 404);
    CHECK(match_route("GET", path({"api", "v1", "clients", "x", "kick", "y"})).status == 404);
    CHECK(match_route("GET", path({})).status == 404);
    const auto wrong = match_route("GET", path({"api", "v1", "reload"}));
    CHECK(wrong.status == 405);
    CHECK(wrong.allow == "POST");
    CHECK(match_route("PUT", path({"api", "v1", "retained"})).allow == "GET, DELETE");
}

TEST_CASE("api: a client renders with its connection, or nulls when offline") {
    net::client_info c;
    c.session.client_id = "sensor-1";
    c.session.username = "alice";
    c.session.conn = 7;
    c.session.clean_session = false;
    c.session.keep_alive = 30;
    c.session.subscriptions = {{"a/#", protocol::qos::at_least_once}, {"b", protocol::qos::at_most_once}};
    c.session.inflight = 2;
    c.session.queued = 3;
    c.session.queued_bytes = 40;
    c.connection = net::connection_info{"127.0.0.1:5000", "tcp 127.0.0.1:1883",
                                        std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}}};
    const auto j = client_json(c, true);
    CHECK(j == json::parse(R"({"client_id": "sensor-1", "username": "alice", "connected": true, "clean_session": false,
        "keepalive": 30, "subscription_count": 2, "inflight": 2, "queued": 3, "queued_bytes": 40,
        "address": "127.0.0.1:5000", "listener": "tcp 127.0.0.1:1883", "connected_since": "2023-11-14T22:13:20Z",
        "subscriptions": [{"filter": "a/#", "qos": 1}, {"filter": "b", "qos": 0}]})"));

    c.connection.reset();
    c.session.username.reset();
    const auto offline = client_json(c, false);
    CHECK(offline["connected"] == false);
    CHECK(offline["address"].is_null());
    CHECK(offline["username"].is_null());
    CHECK_FALSE(offline.contains("subscriptions"));
}

TEST_CASE("api: a retained message renders UTF-8 payloads as text and others as base64") {
    const std::string text = "21.5 \xc2\xb0" "C";
    const auto m = core::make_message("t/1", protocol::bytes_view{reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                                      protocol::qos::at_least_once, true);
    CHECK(retained_json(*m) == json{{"topic", "t/1"}, {"qos", 1}, {"payload_bytes", text.size()}, {"payload", text}});
    const std::uint8_t binary[] = {0xff, 0x00, 0x01};
    const auto b = core::make_message("t/2", protocol::bytes_view{binary, 3}, protocol::qos::at_most_once, true);
    CHECK(retained_json(*b) == json{{"topic", "t/2"}, {"qos", 0}, {"payload_bytes", 3}, {"payload_base64", "/wAB"}});
}

TEST_CASE("api: pages and errors are JSON") {
    const auto p = page_json(page{10, 5}, 42, "clients", json::array());
    CHECK(p == json{{"total", 42}, {"offset", 10}, {"limit", 5}, {"clients", json::array()}});
    const auto e = error_reply(400, "limit: bad");
    CHECK(e.status == 400);
    CHECK(e.content_type == "application/json");
    CHECK(json::parse(e.body) == json{{"error", "limit: bad"}});
    // A string that is not UTF-8 never makes rendering throw.
    CHECK_NOTHROW(error_reply(404, "no client \"\xff\""));
}

TEST_CASE("api: counters render every drop and close reason by name") {
    net::counters_snapshot c;
    c.closes[static_cast<std::size_t>(core::close_reason::kicked)] = 2;
    c.refused_connections = 5;
    const auto j = counters_json(c);
    CHECK(j["closed"]["kicked"] == 2);
    CHECK(j["closed"].size() == core::close_reason_count);
    CHECK(j["dropped"].size() == core::drop_reason_count);
    CHECK(j["refused_connections"] == 5);
}
