#include "broker/core/inflight_window.hpp"

#include <random>
#include <vector>

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

TEST_CASE("inflight_window: acknowledgements in any order keep send order and every id findable") {
    // Against a model (a plain list): a window of 1,000 with random acknowledgements, and one entry held at
    // the front throughout (a QoS 2 flow the client never completes) while thousands pass behind it.
    inflight_window w{1000};
    std::vector<std::pair<mqttd::protocol::packet_id, int>> model;  // id, payload number, in send order
    std::mt19937 rng{42};
    int next = 0;
    const auto add = [&] {
        const auto msg = make_message("t", {}, qos::exactly_once, false);
        const auto id = w.add(msg, qos::exactly_once, false);
        REQUIRE(id);
        w.find(*id)->stored_id = static_cast<std::uint64_t>(++next);
        model.emplace_back(*id, next);
    };
    add();  // the one that never completes
    for (int step = 0; step < 50000; ++step) {
        if (model.size() < 2 || (model.size() < 1000 && rng() % 2 == 0)) {
            add();
        } else {
            const auto at = 1 + rng() % (model.size() - 1);
            w.erase(model[at].first);
            model.erase(model.begin() + static_cast<long>(at));
        }
        if (step % 997 == 0) {
            std::vector<std::pair<mqttd::protocol::packet_id, int>> seen;
            w.for_each([&](const outbound_message& e) { seen.emplace_back(e.id, static_cast<int>(e.stored_id)); });
            REQUIRE(seen == model);
        }
    }
    CHECK(w.size() == model.size());
    for (const auto& [id, n] : model) {
        REQUIRE(w.find(id) != nullptr);
        CHECK(w.find(id)->stored_id == static_cast<std::uint64_t>(n));
    }
    CHECK(w.find(model.front().first)->stored_id == 1);
    w.erase(model.front().first);
    CHECK(w.find(model.front().first) == nullptr);
}

TEST_CASE("inflight_window: an unused window is small, and clear() lets go of what it held") {
    // Every session holds one, most of them idle: the ring and index live behind one pointer (issue 10).
    CHECK(sizeof(inflight_window) <= 24);
    inflight_window w{4};
    const auto msg = make_message("t", {}, qos::at_least_once, false);
    const auto id = w.add(msg, qos::at_least_once, false);
    REQUIRE(id);
    CHECK(msg.use_count() == 2);
    w.clear();
    CHECK(w.is_empty());
    CHECK(msg.use_count() == 1);
    CHECK(w.find(*id) == nullptr);
    w.erase(*id);  // nothing there: no effect
    const auto again = w.add(msg, qos::exactly_once, false);
    REQUIRE(again);
    CHECK(w.find(*again)->state == outbound_state::awaiting_pubrec);
}
