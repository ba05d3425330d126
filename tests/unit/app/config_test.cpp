#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "broker/app/config.hpp"

#include <doctest/doctest.h>

using mqttd::app::config_error;
using mqttd::app::parse_config;

namespace {

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "test.json");
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("config: a file with only listeners is valid and takes the defaults") {
    const auto c = parse_config(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1883}]})", "f");
    REQUIRE(c.server.listeners.size() == 1);
    CHECK(c.server.listeners[0].port == 1883);
    CHECK(c.server.shard.session.max_inflight == 20);
    CHECK(c.server.shard.session.max_queued_messages == 1000);
    CHECK(c.server.connect_timeout == std::chrono::seconds{10});
    CHECK(c.server.auth.allow_anonymous);  // every listener is loopback
}

TEST_CASE("config: comments are allowed and every key is read") {
    const auto c = parse_config(R"(// a comment
        {
          /* block */ "listeners": [{"type": "tcp", "bind": "::1", "port": 0}],
          "threads": 3, "log_level": "debug", "auth": {"allow_anonymous": false}, "max_packet_size": 1024,
          "connect_timeout": 0.5, "max_inflight": 5, "max_queued_messages": 7
        })", "f");
    CHECK(c.server.listeners[0].bind == "::1");
    CHECK(c.server.threads == 3);
    CHECK(c.log_level == mqttd::logging::level::debug);
    CHECK_FALSE(c.server.auth.allow_anonymous);
    CHECK(c.server.max_packet_size == 1024);
    CHECK(c.server.connect_timeout == std::chrono::milliseconds{500});
    CHECK(c.server.shard.session.max_inflight == 5);
    CHECK(c.server.shard.session.max_queued_messages == 7);
}

TEST_CASE("config: errors name the file, the key and what was expected") {
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": "abc"}]})") ==
          R"(test.json: listeners[0].port: expected integer 0..65535, got string "abc")");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 70000}]})") ==
          "test.json: listeners[0].port: expected integer 0..65535, got 70000");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "max_inflite": 3})") ==
          R"(test.json: max_inflite: unknown key (did you mean "max_inflight"?))");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "threads": true})") ==
          "test.json: threads: expected integer 0..1024, got boolean true");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "log_level": "loud"})") ==
          R"(test.json: log_level: expected one of "error", "warning", "info", "debug", got "loud")");
    CHECK(error_of(R"({"threads": 1})") == "test.json: listeners: missing (expected an array of listeners)");
    CHECK(error_of(R"({"listeners": [{"type": "quic", "port": 1}]})").find("listeners[0].type") != std::string::npos);
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1, "colour": 2}]})") ==
          "test.json: listeners[0].colour: unknown key");
    CHECK(error_of("{ not json").rfind("test.json: invalid JSON", 0) == 0);
}

TEST_CASE("config: the limits have sane defaults and are each read") {
    const auto d = parse_config(R"({"listeners": [{"type": "tcp", "port": 1}]})", "f");
    CHECK(d.server.max_packet_size == 2 * 1024 * 1024);  // as Mosquitto 2.1
    CHECK(d.server.max_outbound_bytes == 1024 * 1024);
    CHECK(d.server.write_timeout == std::chrono::seconds{30});
    CHECK(d.server.max_connections == 0);  // automatic: the file-descriptor limit less a reserve
    CHECK(d.server.shard.session.max_queued_bytes == 64 * 1024 * 1024);
    CHECK(d.server.shard.session_expiry.count() == 0);  // never, as MQTT 3.1.1 implies
    CHECK(d.server.listeners[0].max_connections == 0);
    const auto c = parse_config(R"({"listeners": [{"type": "tcp", "port": 1, "max_connections": 9}],
        "max_outbound_bytes": 4096, "write_timeout": 2.5, "max_connections": 100, "max_queued_bytes": 0,
        "session_expiry": 3600})", "f");
    CHECK(c.server.max_outbound_bytes == 4096);
    CHECK(c.server.write_timeout == std::chrono::milliseconds{2500});
    CHECK(c.server.max_connections == 100);
    CHECK(c.server.shard.session.max_queued_bytes == 0);
    CHECK(c.server.shard.session_expiry == std::chrono::hours{1});
    CHECK(c.server.listeners[0].max_connections == 9);
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "max_outbound_bytes": 10})") ==
          "test.json: max_outbound_bytes: expected integer 1024..1099511627776, got 10");
}

TEST_CASE("config: auth; allow_anonymous defaults to true only when every listener is loopback") {
    const auto local = parse_config(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1},
                                                      {"type": "ws", "bind": "::1", "port": 2}]})", "f");
    CHECK(local.server.auth.allow_anonymous);
    const auto open = parse_config(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1},
                                                     {"type": "tcp", "bind": "0.0.0.0", "port": 2}]})", "f");
    CHECK_FALSE(open.server.auth.allow_anonymous);
    const auto c = parse_config(R"({"listeners": [{"type": "tcp", "bind": "0.0.0.0", "port": 1, "allow_anonymous": true}],
        "auth": {"allow_anonymous": false, "password_file": "p.txt", "acl_file": "acl.conf", "failed_login_delay": 0.5}})",
                                "f");
    CHECK_FALSE(c.server.auth.allow_anonymous);
    CHECK(c.server.listeners[0].allow_anonymous == true);
    CHECK(c.server.auth.password_file == "p.txt");
    CHECK(c.server.auth.acl_file == "acl.conf");
    CHECK(c.server.auth.failed_login_delay == std::chrono::milliseconds{500});
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "allow_anonymous": true})") ==
          "test.json: allow_anonymous: moved: use auth.allow_anonymous");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "auth": {"password_fil": "x"}})") ==
          R"(test.json: auth.password_fil: unknown key (did you mean "password_file"?))");
}

TEST_CASE("config: shared subscription strategies, broker-wide and per group") {
    using mqttd::core::share_strategy;
    const auto defaults = parse_config(R"({"listeners": [{"type": "tcp", "port": 1}]})", "f");
    CHECK(defaults.server.share_strategies.fallback == share_strategy::round_robin);
    const auto c = parse_config(R"({"listeners": [{"type": "tcp", "port": 1}],
        "shared_subscription_strategy": "least_inflight",
        "shared_subscription_groups": {"billing": "sticky_by_publisher", "audit": "random"}})", "f");
    CHECK(c.server.share_strategies.fallback == share_strategy::least_inflight);
    CHECK(c.server.share_strategies.for_group("billing") == share_strategy::sticky_by_publisher);
    CHECK(c.server.share_strategies.for_group("audit") == share_strategy::random);
    CHECK(c.server.share_strategies.for_group("other") == share_strategy::least_inflight);
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "shared_subscription_strategy": "fair"})") ==
          "test.json: shared_subscription_strategy: expected one of \"round_robin\", \"random\", "
          "\"sticky_by_publisher\", \"least_inflight\", got \"fair\"");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "shared_subscription_groups": {"a+": "random"}})") ==
          "test.json: shared_subscription_groups.a+: is not a share group name (one or more characters, none of "
          "'/', '+', '#')");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "shared_subscription_groups": {"a": "x"}})")
              .rfind("test.json: shared_subscription_groups.a: expected one of", 0) == 0);
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "shared_subscription_groups": []})") ==
          "test.json: shared_subscription_groups: expected an object, got an array");
}

TEST_CASE("config: an http listener goes to config.http, not to the MQTT listeners") {
    const auto c = parse_config(R"({"listeners": [{"type": "tcp", "port": 1883},
                                                  {"type": "http", "bind": "127.0.0.1", "port": 8081, "max_connections": 4}],
                                    "admin": {"password_file": "admin.pw", "metrics_auth": true, "idle_timeout": 5,
                                              "failed_login_delay": 0.5, "max_request_bytes": 4096}})", "f");
    REQUIRE(c.server.listeners.size() == 1);
    REQUIRE(c.http.listeners.size() == 1);
    CHECK(c.http.listeners[0].port == 8081);
    CHECK(c.http.listeners[0].max_connections == 4);
    CHECK(c.http.admin.password_file == "admin.pw");
    CHECK(c.http.admin.metrics_auth);
    CHECK(c.http.admin.idle_timeout == std::chrono::seconds{5});
    CHECK(c.http.admin.failed_login_delay == std::chrono::milliseconds{500});
    CHECK(c.http.admin.max_request_bytes == 4096);
}

TEST_CASE("config: http listener and admin defaults; the API is off without a password file") {
    const auto c = parse_config(R"({"listeners": [{"type": "tcp", "port": 1883}, {"type": "http", "port": 0}]})", "f");
    CHECK(c.http.listeners[0].bind == "127.0.0.1");
    CHECK(c.http.listeners[0].max_connections == 16);
    CHECK(c.http.admin.password_file.empty());
    CHECK_FALSE(c.http.admin.metrics_auth);
}

TEST_CASE("config: bad http listeners and admin keys name the file, key and problem") {
    const auto base = [](const std::string& http, const std::string& rest = "") {
        return R"({"listeners": [{"type": "tcp", "port": 1883}, )" + http + "]" + rest + "}";
    };
    CHECK(error_of(base(R"({"type": "http"})")) == "test.json: listeners[1].port: missing (expected integer 0..65535)");
    CHECK(error_of(base(R"({"type": "http", "port": 1, "path": "/x"})")) == "test.json: listeners[1].path: unknown key (did you mean \"port\"?)");
    CHECK(error_of(base(R"({"type": "http", "port": 1, "cert_file": "c"})")) == "test.json: listeners[1].cert_file: unknown key");
    CHECK(error_of(base(R"({"type": "http", "port": 1, "bind": "localhost"})")) ==
          "test.json: listeners[1].bind: expected an IP address, got \"localhost\"");
    CHECK(error_of(base(R"({"type": "http", "port": 1, "max_connections": 0})")) ==
          "test.json: listeners[1].max_connections: expected integer 1..10000, got 0");
    CHECK(error_of(base(R"({"type": "htp", "port": 1})")) ==
          R"(test.json: listeners[1].type: expected one of "tcp", "tls", "ws", "wss", "http", got "htp")");
    CHECK(error_of(base(R"({"port": 1})")) ==
          R"(test.json: listeners[1].type: missing (expected "tcp", "tls", "ws", "wss" or "http"))");
    CHECK(error_of(base(R"({"type": "http", "port": 1})", R"(, "admin": {"metrics_auth": true})")) ==
          "test.json: admin.password_file: missing (metrics_auth needs the admin password file)");
    CHECK(error_of(base(R"({"type": "http", "port": 1})", R"(, "admin": {"pasword_file": "x"})")) ==
          "test.json: admin.pasword_file: unknown key (did you mean \"password_file\"?)");
    CHECK(error_of(base(R"({"type": "http", "port": 1})", R"(, "admin": {"idle_timeout": 0})")) ==
          "test.json: admin.idle_timeout: expected a number from 0.1 to 3600, got 0");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1883}], "admin": {"password_file": "p"}})") ==
          R"(test.json: admin: set, but no listener has type "http")");
    CHECK(error_of(R"({"listeners": [{"type": "http", "port": 8081}]})") ==
          R"(test.json: listeners: expected at least one MQTT listener ("tcp", "tls", "ws" or "wss"))");
}

TEST_CASE("config: sys_interval is 10 s by default, 0 turns $SYS off, and out of range is an error") {
    const auto defaults = parse_config(R"({"listeners": [{"type": "tcp", "port": 1}]})", "f");
    CHECK(defaults.server.sys_interval == std::chrono::seconds{10});
    const auto off = parse_config(R"({"listeners": [{"type": "tcp", "port": 1}], "sys_interval": 0})", "f");
    CHECK(off.server.sys_interval == std::chrono::seconds{0});
    const auto daily = parse_config(R"({"listeners": [{"type": "tcp", "port": 1}], "sys_interval": 86400})", "f");
    CHECK(daily.server.sys_interval == std::chrono::seconds{86'400});
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "sys_interval": -1})") ==
          "test.json: sys_interval: expected integer 0..86400, got -1");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "sys_interval": 86401})") ==
          "test.json: sys_interval: expected integer 0..86400, got 86401");
    CHECK(error_of(R"({"listeners": [{"type": "tcp", "port": 1}], "sys_interval": 2.5})") ==
          "test.json: sys_interval: expected integer 0..86400, got number 2.5");
}
