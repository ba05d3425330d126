#include "auth/acl_match.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mqttd::auth;

TEST_CASE("filter_covers: a subscription filter inside a rule's filter, level by level") {
    struct row {
        const char* rule;
        const char* filter;
        bool covers;
    };
    const row rows[] = {
        {"a/#", "a/b/+", true},  // the brief's example
        {"a/#", "a/#", true},
        {"a/#", "a", true},  // "a/#" matches "a" itself [MQTT-4.7.1-2]
        {"a/#", "b/#", false},
        {"a/+", "a/#", false},  // '#' spans levels '+' cannot
        {"a/+", "a/b", true},
        {"a/+", "a/+", true},
        {"a/+", "a", false},
        {"a/+", "a/b/c", false},
        {"a/b", "a/+", false},  // a literal covers only itself
        {"a/b", "a/b", true},
        {"+/b", "x/b", true},
        {"+/b", "+/b", true},
        {"#", "+/x/#", true},
        {"#", "#", true},
        {"#", "$SYS/#", false},  // [MQTT-4.7.2-1] '#' matches no '$' topic
        {"+/broker", "$SYS/broker", false},
        {"$SYS/#", "$SYS/broker/+", true},
        {"$SYS/#", "#", false},
        {"a//b", "a//b", true},  // empty levels are levels
        {"a/+/b", "a//b", true},
        {"a/+/#", "a/#", false},
        {"a/+/#", "a/x", true},
    };
    for (const auto& r : rows) {
        CAPTURE(r.rule);
        CAPTURE(r.filter);
        CHECK(filter_covers(r.rule, r.filter) == r.covers);
    }
}

TEST_CASE("expand_pattern: %c and %u anywhere, as Mosquitto 2.0 substitutes them") {
    std::string out = "leftover";
    expand_pattern("devices/%c/up", "dev-1", "alice", out);
    CHECK(out == "devices/dev-1/up");
    expand_pattern("%u/%c/%u", "c", "u", out);
    CHECK(out == "u/c/u");
    expand_pattern("shared/%u-%c", "k1", "dave", out);
    CHECK(out == "shared/dave-k1");
    expand_pattern("100%/x%", "c", "u", out);  // a '%' before anything else, or last, stays
    CHECK(out == "100%/x%");
    expand_pattern("users/%u", "c", "", out);
    CHECK(out == "users/");
}
