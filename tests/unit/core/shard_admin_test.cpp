// The admin API's views and actions on a shard (shard_admin.cpp): sessions as the API shows them, kick (the
// will is published, a persistent session stays unless discarded) and the deletion of retained messages.

#include "broker/core/shard.hpp"

#include <doctest/doctest.h>

#include "shard_doctest.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

TEST_CASE("shard admin: sessions() shows each session with its subscriptions and connection") {
    shard_scheduler s{1};
    const auto c = s.connect(0, params("dev", false));
    s.send(c, subscribe(1, "a/#", qos::at_least_once));
    s.connect(0, params("other", true));
    const auto all = s.at(0).sessions();
    REQUIRE(all.size() == 2);
    const auto dev = s.at(0).session_of("dev");
    REQUIRE(dev);
    CHECK(dev->conn == c);
    CHECK_FALSE(dev->clean_session);
    REQUIRE(dev->subscriptions.size() == 1);
    CHECK(dev->subscriptions[0] == std::pair<std::string, qos>{"a/#", qos::at_least_once});
    CHECK_FALSE(s.at(0).session_of("nobody"));
}

TEST_CASE("shard admin: a kicked client's connection is closed and its will published [MQTT-3.1.2-8]") {
    shard_scheduler s{1};
    const auto watcher = s.connect(0, params("watcher", true));
    s.send(watcher, subscribe(1, "wills/#", qos::at_least_once));
    const auto will = core::make_message("wills/dev", bytes("gone"), qos::at_least_once, false);
    const auto dev = s.connect(0, params("dev", true, will));
    CHECK(s.kick(0, "dev", false) == core::kick_result::kicked);
    CHECK_FALSE(s.client(dev).is_open);
    const auto& last = s.client(dev).received.back();
    REQUIRE(std::holds_alternative<core::close_connection>(last));
    CHECK(std::get<core::close_connection>(last).reason == core::close_reason::kicked);
    REQUIRE(publishes_of(s.client(watcher)).size() == 1);
    CHECK(text(publishes_of(s.client(watcher))[0].msg->payload()) == "gone");
    // [MQTT-3.1.2-6] the clean session ended with its connection.
    CHECK(s.at(0).session_count() == 1);
    CHECK(s.kick(0, "dev", false) == core::kick_result::not_found);
}

TEST_CASE("shard admin: a persistent session outlives a kick unless it is discarded") {
    shard_scheduler s{1};
    const auto dev = s.connect(0, params("dev", false));
    s.send(dev, subscribe(1, "t", qos::at_least_once));
    CHECK(s.kick(0, "dev", false) == core::kick_result::kicked);
    CHECK_FALSE(s.client(dev).is_open);
    REQUIRE(s.at(0).session_of("dev"));
    CHECK(s.at(0).session_of("dev")->conn == 0);
    CHECK(s.kick(0, "dev", false) == core::kick_result::not_connected);
    CHECK(s.kick(0, "dev", true) == core::kick_result::discarded);
    CHECK_FALSE(s.at(0).session_of("dev"));
    CHECK(s.routes.subscription_count() == 0);

    const auto again = s.connect(0, params("dev", false));
    CHECK(s.kick(0, "dev", true) == core::kick_result::kicked_and_discarded);
    CHECK_FALSE(s.client(again).is_open);
    CHECK(s.at(0).session_count() == 0);
}

TEST_CASE("shard admin: delete_retained removes what the filter matches and delivers nothing [MQTT-3.3.1-10]") {
    shard_scheduler s{1};
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, protocol::publish{false, qos::at_most_once, true, "r/1", 0, bytes("one")});
    s.send(pub, protocol::publish{false, qos::at_most_once, true, "r/2", 0, bytes("two")});
    s.send(pub, protocol::publish{false, qos::at_most_once, true, "q", 0, bytes("q")});
    const auto sub = s.connect(0, params("sub", true));
    s.send(sub, subscribe(1, "live/#", qos::at_most_once));
    CHECK(s.delete_retained(0, "r/+") == 2);
    CHECK(s.routes.retained_count() == 1);
    CHECK(publishes_of(s.client(sub)).empty());
    CHECK(s.delete_retained(0, "r/+") == 0);
}
