#include "broker/core/router.hpp"

#include <doctest/doctest.h>

using namespace mqttd::core;
using mqttd::protocol::qos;

TEST_CASE("router: overlapping subscriptions of one session deliver once at the highest QoS [MQTT-3.3.5-1]") {
    router r;
    const auto a = std::make_shared<session_slot>("a", 0);
    const auto b = std::make_shared<session_slot>("b", 0);
    r.subscribe(a, "x/#", qos::at_least_once);
    r.subscribe(a, "x/+", qos::exactly_once);
    r.subscribe(a, "x/y", qos::at_most_once);
    r.subscribe(b, "x/y", qos::at_most_once);
    std::vector<subscriber> out;
    r.publish(make_message("x/y", {}, qos::exactly_once, false), out);
    REQUIRE(out.size() == 2);
    for (const auto& t : out) CHECK(t.granted == (t.session == a ? qos::exactly_once : qos::at_most_once));
}

TEST_CASE("router: a retained publish is stored before matching; an empty one clears it [MQTT-3.3.1-10]") {
    router r;
    std::vector<subscriber> out;
    const std::uint8_t v = '1';
    r.publish(make_message("t", {&v, 1}, qos::at_most_once, true), out);
    std::vector<message_ptr> kept;
    r.retained_for("t", kept);
    CHECK(kept.size() == 1);
    r.publish(make_message("t", {}, qos::at_most_once, true), out);
    kept.clear();
    r.retained_for("#", kept);
    CHECK(kept.empty());
    CHECK(r.retained_count() == 0);
}
