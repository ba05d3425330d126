#include "broker/core/retained_store.hpp"

#include <algorithm>
#include <set>
#include <string>

#include <doctest/doctest.h>

using namespace mqttd::core;
using mqttd::protocol::qos;

namespace {

message_ptr retained(std::string_view topic, std::string_view payload = "v") {
    return make_message(topic, {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()},
                        qos::at_most_once, true);
}

std::set<std::string> topics_matching(const retained_store& store, std::string_view filter) {
    std::vector<message_ptr> out;
    store.match(filter, out);
    std::set<std::string> topics;
    for (const auto& m : out) topics.emplace(m->topic());
    CHECK(topics.size() == out.size());  // never the same message twice
    return topics;
}

}  // namespace

TEST_CASE("retained_store: replace and delete with an empty payload [MQTT-3.3.1-5] [MQTT-3.3.1-10]") {
    retained_store store;
    store.store(retained("a/b", "1"));
    store.store(retained("a/b", "2"));
    CHECK(store.size() == 1);
    std::vector<message_ptr> out;
    store.match("a/b", out);
    REQUIRE(out.size() == 1);
    CHECK(std::string(reinterpret_cast<const char*>(out[0]->payload().data()), out[0]->payload().size()) == "2");
    store.store(retained("a/b", ""));
    CHECK(store.size() == 0);
    CHECK(topics_matching(store, "#").empty());
}

TEST_CASE("retained_store: wildcard filters find every matching topic [MQTT-3.8.4-3] [MQTT-4.7.2-1]") {
    retained_store store;
    for (const auto* t : {"sensors/kitchen/temp", "sensors/hall/temp", "sensors/hall", "sensors", "other/x",
                          "$SYS/uptime", "/lead", "a//b"})
        store.store(retained(t));
    CHECK(topics_matching(store, "sensors/#") ==
          std::set<std::string>{"sensors", "sensors/hall", "sensors/hall/temp", "sensors/kitchen/temp"});
    CHECK(topics_matching(store, "sensors/+/temp") == std::set<std::string>{"sensors/hall/temp", "sensors/kitchen/temp"});
    CHECK(topics_matching(store, "sensors/+") == std::set<std::string>{"sensors/hall"});
    CHECK(topics_matching(store, "#").count("$SYS/uptime") == 0);
    CHECK(topics_matching(store, "#").size() == 7);
    CHECK(topics_matching(store, "+/uptime").empty());
    CHECK(topics_matching(store, "$SYS/#") == std::set<std::string>{"$SYS/uptime"});
    CHECK(topics_matching(store, "+/lead") == std::set<std::string>{"/lead"});
    CHECK(topics_matching(store, "a/+/b") == std::set<std::string>{"a//b"});
    CHECK(topics_matching(store, "other/x") == std::set<std::string>{"other/x"});
    CHECK(topics_matching(store, "other/y").empty());
}

TEST_CASE("retained_store: a 32,767-level topic is stored, matched by '#' and '+' paths, and erased") {
    std::string deep = "a";
    while (deep.size() + 2 <= 65535) deep += "/a";
    retained_store store;
    store.store(retained(deep, "x"));
    store.store(retained("a", "y"));
    std::vector<message_ptr> out;
    store.match("#", out);
    CHECK(out.size() == 2);
    out.clear();
    store.match(deep, out);
    CHECK(out.size() == 1);
    CHECK(store.bytes() == deep.size() + 1 + 2);
    store.store(retained(deep, ""));  // [MQTT-3.3.1-10] an empty payload erases
    CHECK(store.size() == 1);
    CHECK(store.bytes() == 2);
}
