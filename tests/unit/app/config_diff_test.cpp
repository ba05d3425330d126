// What a reload reports as changed (broker/app/config_diff.hpp), from two parsed configuration texts.
#include "broker/app/config_diff.hpp"

#include <doctest/doctest.h>

using mqttd::app::config_diff;
using mqttd::app::describe;
using mqttd::app::diff_configs;
using mqttd::app::parse_config;

namespace {

const char* const base = R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1883}], "threads": 2})";

config_diff diff_to(const std::string& next) { return diff_configs(parse_config(base, "a"), parse_config(next, "b")); }

}  // namespace

TEST_CASE("config_diff: the same file changes nothing") {
    const auto d = diff_to(base);
    CHECK(d.is_empty());
    CHECK(describe(d) == "nothing");
}

TEST_CASE("config_diff: log level and limits are named by their config keys") {
    const auto d = diff_to(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1883}], "threads": 2,
                               "log_level": "debug", "max_packet_size": 1024, "max_inflight": 5, "session_expiry": 60})");
    CHECK(d.log_level);
    CHECK(d.limits == std::vector<std::string>{"max_packet_size", "max_inflight", "session_expiry"});
    CHECK(d.needs_restart.empty());
    CHECK_FALSE(d.auth);
    CHECK(describe(d) == "log_level limits=max_packet_size,max_inflight,session_expiry");
}

TEST_CASE("config_diff: listeners added, removed and changed, by type, address and configured port") {
    const auto d = diff_to(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1883, "max_connections": 5},
                                             {"type": "ws", "bind": "::1", "port": 8080}], "threads": 2})");
    CHECK(d.listeners_added == std::vector<std::string>{"ws://[::1]:8080"});
    CHECK(d.listeners_removed.empty());
    CHECK(d.listeners_changed == std::vector<std::string>{"tcp://127.0.0.1:1883"});

    const auto moved = diff_to(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1884}], "threads": 2})");
    CHECK(moved.listeners_added == std::vector<std::string>{"tcp://127.0.0.1:1884"});
    CHECK(moved.listeners_removed == std::vector<std::string>{"tcp://127.0.0.1:1883"});
    CHECK(moved.listeners_changed.empty());
}

TEST_CASE("config_diff: settings a running broker cannot change are reported as needing a restart") {
    const auto d = diff_to(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1883}], "threads": 4,
                               "persistence": {"sync": "none"}, "shared_subscription_strategy": "random",
                               "auth": {"failed_login_delay": 2}})");
    CHECK(d.needs_restart == std::vector<std::string>{"auth.failed_login_delay", "threads", "persistence",
                                                      "shared_subscription_strategy"});
    CHECK_FALSE(d.auth);  // the delay alone: the rest of the auth section is as it was
    CHECK(d.limits.empty());
}

TEST_CASE("config_diff: a new password file is an auth change") {
    const auto d = diff_to(R"({"listeners": [{"type": "tcp", "bind": "127.0.0.1", "port": 1883}], "threads": 2,
                               "auth": {"password_file": "/etc/mqttd/passwd"}})");
    CHECK(d.auth);
    CHECK(describe(d) == "auth");
}
