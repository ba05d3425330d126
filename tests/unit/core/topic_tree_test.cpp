#include "broker/core/topic_tree.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <string>

#include <doctest/doctest.h>

using namespace mqttd::core;
using mqttd::protocol::qos;

namespace {

struct match_case {
    const char* filter;
    const char* topic;
    bool matches;
};

// [MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.2-1], [MQTT-4.7.3-1]: the tree must agree with the spec's rules.
constexpr std::array<match_case, 48> table{{
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},
    {"#", "sport/tennis", true},
    {"#", "/", true},
    {"#", "a", true},
    {"sport/tennis/#", "sport/tennis", true},
    {"sport/tennis/#", "sport/tennisx", false},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/tennis/+", "sport/tennis", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+", "sport", true},
    {"+", "/finance", false},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+/tennis/#", "sport/tennis/player1", true},
    {"+/tennis/#", "sport/tennis", true},
    {"+/tennis/#", "sport/golf", false},
    {"a/b/c", "a/b/c", true},
    {"a/b/c", "a/b", false},
    {"a/b", "a/b/c", false},
    {"a/b", "A/b", false},
    {"a//b", "a//b", true},
    {"a/+/b", "a//b", true},
    {"a/#", "a//b", true},
    {"+/+/+", "a//b", true},
    {"/#", "/a/b", true},
    {"/#", "a/b", false},
    {"a b/c", "a b/c", true},
    {"+/b", "a/b", true},
    {"+/+", "a/b/c", false},
    {"+/#", "a", true},
    // [MQTT-4.7.2-1] a leading wildcard does not match topics starting with '$'.
    {"#", "$SYS/broker/clients", false},
    {"+/broker/clients", "$SYS/broker/clients", false},
    {"+", "$SYS", false},
    {"$SYS/#", "$SYS/broker/clients", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/+/clients", "$SYS/broker/clients", true},
    {"$SYS/broker/+", "$SYS/broker/clients", true},
    {"$SYS", "$SYS", true},
    {"$SYS/#", "SYS/broker", false},
    {"a/$SYS/#", "a/$SYS/b", true},
    {"+/$x", "a/$x", true},
    {"#", "a/$x", true},
    {"$share/#", "$SYS/x", false},
}};

}  // namespace

TEST_CASE("topic_tree: matching table agrees with the spec [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1]") {
    for (const auto& c : table) {
        CAPTURE(c.filter);
        CAPTURE(c.topic);
        topic_tree tree;
        const auto s = std::make_shared<session_slot>("c", 0);
        tree.subscribe({s, 1, qos::at_least_once}, c.filter);
        std::vector<subscriber> out;
        tree.match(c.topic, out);
        CHECK(out.size() == (c.matches ? 1u : 0u));
    }
}

TEST_CASE("topic_tree: all filters in one tree give each match once per filter") {
    topic_tree tree;
    std::vector<session_ref> sessions;
    for (std::size_t i = 0; i < table.size(); ++i) {
        // Appended rather than "c" + std::to_string(i): GCC 12 at -O3 warns falsely on the latter (-Wrestrict,
        // GCC bug 105329).
        std::string id = "c";
        id += std::to_string(i);
        sessions.push_back(std::make_shared<session_slot>(id, 0));
        tree.subscribe({sessions.back(), 1, qos::at_most_once}, table[i].filter);
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
        std::vector<subscriber> out;
        tree.match(table[i].topic, out);
        const bool found = std::any_of(out.begin(), out.end(),
                                       [&](const subscriber& s) { return s.session == sessions[i]; });
        CAPTURE(table[i].filter);
        CAPTURE(table[i].topic);
        CHECK(found == table[i].matches);
    }
}

TEST_CASE("topic_tree: an identical filter replaces the subscription [MQTT-3.8.4-3]") {
    topic_tree tree;
    const auto s = std::make_shared<session_slot>("c", 0);
    CHECK(tree.subscribe({s, 1, qos::at_most_once}, "a/+"));
    CHECK_FALSE(tree.subscribe({s, 1, qos::exactly_once}, "a/+"));
    std::vector<subscriber> out;
    tree.match("a/b", out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].granted == qos::exactly_once);
    CHECK(tree.subscription_count() == 1);
}

TEST_CASE("topic_tree: unsubscribe removes only that session's filter and prunes") {
    topic_tree tree;
    const auto a = std::make_shared<session_slot>("a", 0);
    const auto b = std::make_shared<session_slot>("b", 0);
    tree.subscribe({a, 1, qos::at_most_once}, "x/y/#");
    tree.subscribe({b, 1, qos::at_most_once}, "x/y/#");
    CHECK(tree.unsubscribe(a.get(), "x/y/#"));
    CHECK_FALSE(tree.unsubscribe(a.get(), "x/y/#"));
    CHECK_FALSE(tree.unsubscribe(b.get(), "x/y"));
    std::vector<subscriber> out;
    tree.match("x/y/z", out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].session == b);
    CHECK(tree.unsubscribe(b.get(), "x/y/#"));
    CHECK(tree.subscription_count() == 0);
}

TEST_CASE("topic_tree: a 32,767-level filter and topic are matched and removed without deep recursion") {
    // 65,535 bytes of "a/a/.../a": as deep as an MQTT topic can go. Recursive walks would need megabytes of
    // stack here (more under AddressSanitizer); the tree's walks are iterative.
    std::string deep = "a";
    while (deep.size() + 2 <= 65535) deep += "/a";
    topic_tree tree;
    const auto s = std::make_shared<session_slot>("c", 0);
    CHECK(tree.subscribe({s, 1, qos::at_least_once}, deep));
    CHECK(tree.subscribe({s, 1, qos::at_least_once}, "a/+/#"));
    std::vector<subscriber> out;
    tree.match(deep, out);
    CHECK(out.size() == 2);
    std::string plus_path = "+";
    while (plus_path.size() + 2 <= 65535) plus_path += "/+";
    CHECK(tree.subscribe({s, 1, qos::at_least_once}, plus_path));
    out.clear();
    tree.match(deep, out);
    CHECK(out.size() == 3);
    CHECK(tree.unsubscribe(s.get(), deep));
    CHECK(tree.subscription_count() == 2);
}  // the destructor frees the remaining 32,767-deep branch iteratively too

TEST_CASE("topic_tree: many sessions on one filter: subscribe, replace and unsubscribe agree with a model") {
    // Crosses the size where a node starts indexing its subscribers by session, and back below where it
    // stops, in a seeded random order, checking the matches against a plain map after every change.
    topic_tree tree;
    std::vector<std::shared_ptr<session_slot>> slots;
    for (int i = 0; i < 200; ++i) slots.push_back(std::make_shared<session_slot>("c" + std::to_string(i), 0));
    std::map<const session_slot*, qos> model;
    std::mt19937 rng{7};
    for (int step = 0; step < 5000; ++step) {
        // Mostly subscribes for the first half of the run, mostly unsubscribes for the second.
        const bool grow = step < 2500 ? rng() % 4 != 0 : rng() % 4 == 0;
        const auto& s = slots[rng() % slots.size()];
        if (grow) {
            const auto q = static_cast<qos>(rng() % 3);
            CHECK(tree.subscribe({s, 1, q}, "many/+") == (model.count(s.get()) == 0));
            model[s.get()] = q;
        } else {
            CHECK(tree.unsubscribe(s.get(), "many/+") == (model.erase(s.get()) == 1));
        }
        if (step % 50 != 0) continue;
        std::vector<subscriber> out;
        tree.match("many/x", out);
        std::map<const session_slot*, qos> got;
        for (const auto& sub : out) CHECK(got.emplace(sub.session.get(), sub.granted).second);  // once each
        CHECK(got == model);
        CHECK(tree.subscription_count() == model.size());
    }
}
