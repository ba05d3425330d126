#include "broker/core/packet_id_set.hpp"

#include <random>
#include <set>

#include <doctest/doctest.h>

using mqttd::core::packet_id_set;
using mqttd::protocol::packet_id;

TEST_CASE("packet_id_set: insert reports a new id once, erase an id that was there [MQTT-4.3.3-2]") {
    packet_id_set ids;
    CHECK(ids.insert(7));
    CHECK_FALSE(ids.insert(7));  // a re-sent QoS 2 PUBLISH: acknowledged again, not routed again
    CHECK(ids.contains(7));
    CHECK(ids.erase(7));
    CHECK_FALSE(ids.erase(7));
    CHECK_FALSE(ids.contains(7));
    CHECK(ids.size() == 0);
}

TEST_CASE("packet_id_set: agrees with std::set over random inserts and erases") {
    std::mt19937 random{42};
    std::uniform_int_distribution<int> pick{1, 200};
    packet_id_set ids;
    std::set<packet_id> model;
    for (int i = 0; i < 20000; ++i) {
        const auto id = static_cast<packet_id>(pick(random));
        if (random() % 2 == 0) {
            CHECK(ids.insert(id) == model.insert(id).second);
        } else {
            CHECK(ids.erase(id) == (model.erase(id) == 1));
        }
        REQUIRE(ids.size() == model.size());
    }
    for (packet_id id = 1; id <= 200; ++id) CHECK(ids.contains(id) == model.contains(id));
}
