#include "broker/core/inflight_window.hpp"

#include <doctest/doctest.h>

using namespace mqttd::core;
using mqttd::protocol::qos;

TEST_CASE("inflight_window: ids are non-zero, unique while in use, and wrap [MQTT-2.3.1-1] [MQTT-2.3.1-2]") {
    inflight_window w{3};
    const auto msg = make_message("t", {}, qos::at_least_once, false);
    const auto a = w.add(msg, qos::at_least_once, false);
    const auto b = w.add(msg, qos::exactly_once, false);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a != 0);
    CHECK(*a != *b);
    CHECK(w.find(*b)->state == outbound_state::awaiting_pubrec);
    CHECK_FALSE(w.is_full());
    w.add(msg, qos::at_least_once, false);
    CHECK(w.is_full());
    w.erase(*a);
    // Cycle through the whole id space while b stays in flight: b's id is never handed out again.
    for (int i = 0; i < 70000; ++i) {
        const auto id = w.add(msg, qos::at_least_once, false);
        REQUIRE(id);
        CHECK(*id != 0);
        CHECK(*id != *b);
        w.erase(*id);
    }
}
