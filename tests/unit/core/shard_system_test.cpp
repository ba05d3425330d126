// core::shard::publish_system: the broker's own $SYS messages are routed and retained like a client's, while a
// client may not publish under $SYS/ at all.

#include "broker/core/shard.hpp"

#include <doctest/doctest.h>

#include "shard_doctest.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

namespace {

core::message_ptr sys_message(std::string_view topic, std::string_view payload) {
    return core::make_message(topic, bytes(payload), qos::at_most_once, true);
}

std::vector<std::string> topics(const fake_client& c) {
    std::vector<std::string> out;
    for (const auto& p : publishes_of(c)) out.emplace_back(p.msg->topic());
    return out;
}

}  // namespace

TEST_CASE("shard: a $SYS message the broker publishes reaches $SYS subscribers on every shard, and is retained") {
    shard_scheduler s{2};
    std::mt19937 rng{1};
    const auto near = s.connect(0, params("near", true));
    const auto far = s.connect(1, params("far", true));
    const auto everything = s.connect(1, params("everything", true));
    s.send(near, subscribe(1, "$SYS/#", qos::at_most_once));
    s.send(far, subscribe(1, "$SYS/broker/+", qos::at_least_once));
    s.send(everything, subscribe(1, "#", qos::at_most_once));

    s.publish_system(0, sys_message("$SYS/broker/uptime", "5 seconds"));
    s.run_until_quiet(rng);
    CHECK(topics(s.client(near)) == std::vector<std::string>{"$SYS/broker/uptime"});
    REQUIRE(topics(s.client(far)) == std::vector<std::string>{"$SYS/broker/uptime"});
    CHECK(publishes_of(s.client(far))[0].qos_level == qos::at_most_once);  // [MQTT-3.8.4-6] the lesser QoS
    CHECK(topics(s.client(everything)).empty());  // [MQTT-4.7.2-1] '#' does not match a '$' topic
    CHECK(s.routes.retained_count() == 1);

    // A later subscriber gets the retained value at once [MQTT-3.3.1-6], with RETAIN set [MQTT-3.3.1-8].
    const auto late = s.connect(0, params("late", true));
    s.send(late, subscribe(1, "$SYS/broker/uptime", qos::at_most_once));
    REQUIRE(publishes_of(s.client(late)).size() == 1);
    CHECK(publishes_of(s.client(late))[0].retain);
    CHECK(text(publishes_of(s.client(late))[0].msg->payload()) == "5 seconds");
}

TEST_CASE("shard: a client's PUBLISH under $SYS/ is acknowledged and dropped, whatever its QoS") {
    shard_scheduler s{1};
    const auto watcher = s.connect(0, params("watcher", true));
    s.send(watcher, subscribe(1, "$SYS/#", qos::at_least_once));
    const auto client = s.connect(0, params("client", true));
    s.send(client, publish("$SYS/broker/uptime", qos::at_most_once, 0, "forged"));
    s.send(client, publish("$SYS/broker/version", qos::at_least_once, 7, "forged"));
    CHECK(publishes_of(s.client(watcher)).empty());
    CHECK(packets_of<protocol::puback>(s.client(client)).size() == 1);  // 3.1.1 has no negative acknowledgement
    CHECK(s.routes.retained_count() == 0);
    CHECK(s.at(0).stats().publishes_denied == 2);
}

TEST_CASE("shard: queue depths sum every session's queue and name the longest") {
    shard_scheduler s{1};
    const auto a = s.connect(0, params("a", false));
    const auto b = s.connect(0, params("b", false));
    s.send(a, subscribe(1, "t", qos::at_least_once));
    s.send(b, subscribe(1, "t", qos::at_least_once));
    s.drop(a);
    s.drop(b);
    const auto pub = s.connect(0, params("pub", true));
    for (protocol::packet_id i = 1; i <= 3; ++i) s.send(pub, publish("t", qos::at_least_once, i, "x"));
    const auto b2 = s.connect(0, params("b", false));  // b's queue goes out, into its in-flight window
    CHECK(s.client(b2).is_attached);
    const auto d = s.at(0).depths();
    CHECK(d.queued == 3);
    CHECK(d.max_queued == 3);
    CHECK(d.inflight == 3);
    CHECK(s.at(0).connected_count() == 2);
    CHECK(s.at(0).session_count() == 3);
}
