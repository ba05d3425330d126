// Shared subscriptions: `$share/GROUP/FILTER` parsing, how a group picks a member, and the router keeping
// group copies apart from ordinary ones. The shards' side (members on several shards, re-dispatch when a
// member's session ends) is in shard_shared_test.cpp.

#include "broker/core/shared_subscription.hpp"

#include <map>
#include <string>

#include <doctest/doctest.h>

#include "broker/core/router.hpp"

using namespace mqttd::core;
using mqttd::protocol::qos;

namespace {

share_syntax syntax(std::string_view full) {
    share_filter parts;
    return parse_share_filter(full, parts);
}

session_ref member(const std::string& id, bool online = true) {
    auto slot = std::make_shared<session_slot>(id, 0);
    slot->set_online(online);
    return slot;
}

// Who gets each of n messages from `publisher`.
std::map<std::string, int> spread(const share_group& g, int n, std::string_view publisher = {}) {
    std::map<std::string, int> count;
    for (int i = 0; i < n; ++i) {
        subscriber picked;
        REQUIRE(g.pick(publisher, picked));
        ++count[picked.session->client_id];
    }
    return count;
}

}  // namespace

TEST_CASE("shared: $share/GROUP/FILTER splits into group and filter (MQTT 5, 4.8.2)") {
    share_filter parts;
    REQUIRE(parse_share_filter("$share/workers/orders/#", parts) == share_syntax::shared);
    CHECK(parts.group == "workers");
    CHECK(parts.filter == "orders/#");
    REQUIRE(parse_share_filter("$share/g/+", parts) == share_syntax::shared);
    CHECK(parts.filter == "+");
    REQUIRE(parse_share_filter("$share/g//", parts) == share_syntax::shared);  // the filter "/" is valid
    CHECK(parts.filter == "/");
}

TEST_CASE("shared: ordinary filters are not share filters, even ones that start alike") {
    CHECK(syntax("orders/#") == share_syntax::ordinary);
    CHECK(syntax("$shared/g/t") == share_syntax::ordinary);
    CHECK(syntax("$SYS/#") == share_syntax::ordinary);
    CHECK(syntax("a/$share/g/t") == share_syntax::ordinary);
}

TEST_CASE("shared: a malformed share filter is invalid, for SUBACK 0x80 (MQTT 5, 4.8.2)") {
    CHECK(syntax("$share") == share_syntax::invalid);           // no group
    CHECK(syntax("$share/") == share_syntax::invalid);          // empty group, no filter
    CHECK(syntax("$share/g") == share_syntax::invalid);         // no filter
    CHECK(syntax("$share/g/") == share_syntax::invalid);        // empty filter
    CHECK(syntax("$share//t") == share_syntax::invalid);        // empty group
    CHECK(syntax("$share/+/t") == share_syntax::invalid);       // wildcard group
    CHECK(syntax("$share/#/t") == share_syntax::invalid);
    CHECK(syntax("$share/g+h/t") == share_syntax::invalid);
}

TEST_CASE("shared: strategy names") {
    for (const auto s : {share_strategy::round_robin, share_strategy::random, share_strategy::sticky_by_publisher,
                         share_strategy::least_inflight})
        CHECK(parse_share_strategy(to_string(s)) == s);
    CHECK_FALSE(parse_share_strategy("fair"));
}

TEST_CASE("shared: round_robin takes members in turn, and each pick carries the group's tag") {
    share_group g{"$share/g/t", "g", share_strategy::round_robin};
    const auto a = member("a"), b = member("b"), c = member("c");
    for (const auto& m : {a, b, c}) CHECK(g.add({m, 1, qos::at_least_once}));
    CHECK_FALSE(g.add({b, 1, qos::exactly_once}));  // the same session again replaces
    CHECK(g.size() == 3);
    CHECK(spread(g, 300) == std::map<std::string, int>{{"a", 100}, {"b", 100}, {"c", 100}});
    subscriber picked;
    REQUIRE(g.pick({}, picked));
    REQUIRE(picked.share);
    CHECK(*picked.share == "$share/g/t");
}

TEST_CASE("shared: members online are preferred, evenly; with none online, every member takes its turn") {
    share_group g{"$share/g/t", "g", share_strategy::round_robin};
    const auto a = member("a"), b = member("b", false), c = member("c"), d = member("d", false);
    for (const auto& m : {a, b, c, d}) g.add({m, 1, qos::at_least_once, true});
    CHECK(spread(g, 400) == std::map<std::string, int>{{"a", 200}, {"c", 200}});
    a->set_online(false);
    c->set_online(false);
    CHECK(spread(g, 400) == std::map<std::string, int>{{"a", 100}, {"b", 100}, {"c", 100}, {"d", 100}});
}

TEST_CASE("shared: random spreads over the members online") {
    share_group g{"$share/g/t", "g", share_strategy::random};
    const auto a = member("a"), b = member("b"), c = member("c", false);
    for (const auto& m : {a, b, c}) g.add({m, 1, qos::at_least_once});
    const auto count = spread(g, 2000);
    CHECK(count.count("c") == 0);
    CHECK(count.at("a") > 800);
    CHECK(count.at("b") > 800);
}

TEST_CASE("shared: sticky_by_publisher keeps a publisher on one member while it is online") {
    share_group g{"$share/g/t", "g", share_strategy::sticky_by_publisher};
    const auto a = member("a"), b = member("b"), c = member("c");
    for (const auto& m : {a, b, c}) g.add({m, 1, qos::at_least_once});
    const auto first = spread(g, 50, "pub1");
    REQUIRE(first.size() == 1);
    const auto chosen = first.begin()->first;
    // Another publisher may land elsewhere; pub1 stays where it was.
    spread(g, 7, "pub2");
    CHECK(spread(g, 50, "pub1") == first);
    // Its member goes offline: pub1 moves, and stays on the new one.
    for (const auto& m : {a, b, c})
        if (m->client_id == chosen) m->set_online(false);
    const auto moved = spread(g, 50, "pub1");
    REQUIRE(moved.size() == 1);
    CHECK(moved.begin()->first != chosen);
    // Its member leaves the group: the same.
    for (const auto& m : {a, b, c})
        if (m->client_id == moved.begin()->first) CHECK(g.remove(m.get()));
    const auto again = spread(g, 50, "pub1");
    REQUIRE(again.size() == 1);
    CHECK(again.begin()->first != moved.begin()->first);
}

TEST_CASE("shared: least_inflight picks the member holding the fewest messages, online first") {
    share_group g{"$share/g/t", "g", share_strategy::least_inflight};
    const auto a = member("a"), b = member("b"), c = member("c", false);
    for (const auto& m : {a, b, c}) g.add({m, 1, qos::at_least_once});
    a->set_load(10);
    b->set_load(3);
    c->set_load(0);  // idle, but offline
    CHECK(spread(g, 5) == std::map<std::string, int>{{"b", 5}});
    b->set_load(20);
    CHECK(spread(g, 5) == std::map<std::string, int>{{"a", 5}});
    a->set_load(20);  // a tie goes round
    const auto tie = spread(g, 10);
    CHECK(tie.count("c") == 0);
    CHECK(tie.at("a") + tie.at("b") == 10);
}

TEST_CASE("shared: an empty group picks nobody") {
    share_group g{"$share/g/t", "g", share_strategy::round_robin};
    const auto a = member("a");
    g.add({a, 1, qos::at_least_once});
    CHECK(g.remove(a.get()));
    CHECK_FALSE(g.remove(a.get()));
    subscriber picked;
    CHECK_FALSE(g.pick({}, picked));
}

TEST_CASE("router: each group delivers one copy, apart from the session's ordinary subscription") {
    router r;
    const auto a = member("a"), b = member("b"), c = member("c");
    std::vector<message_ptr> retained;
    r.subscribe({a, 1, qos::at_least_once}, "$share/g1/t/#", retained);
    r.subscribe({b, 1, qos::at_least_once}, "$share/g1/t/#", retained);
    r.subscribe({c, 1, qos::exactly_once}, "$share/g2/t/+", retained);
    r.subscribe({a, 1, qos::at_most_once}, "t/x", retained);  // a's own, ordinary subscription
    r.subscribe({a, 1, qos::at_least_once}, "t/+", retained);
    CHECK(r.subscription_count() == 5);
    std::map<std::string, int> copies;
    std::vector<subscriber> out;
    for (int i = 0; i < 10; ++i) {
        r.publish(make_message("t/x", {}, qos::at_least_once, false), out);
        // a's two ordinary subscriptions merge into one copy [MQTT-3.3.5-1]; each group adds one of its own.
        REQUIRE(out.size() == 3);
        int ordinary = 0;
        for (const auto& t : out) {
            if (!t.share) {
                ++ordinary;
                CHECK(t.session == a);
                CHECK(t.granted == qos::at_least_once);
            } else {
                ++copies[*t.share + " " + t.session->client_id];
            }
        }
        CHECK(ordinary == 1);
    }
    CHECK(copies == std::map<std::string, int>{{"$share/g1/t/# a", 5}, {"$share/g1/t/# b", 5}, {"$share/g2/t/+ c", 10}});
}

TEST_CASE("router: joining a group sends no retained message; leaving it stops delivery (MQTT 5, 4.8.2)") {
    router r;
    const auto a = member("a");
    std::vector<subscriber> out;
    const std::uint8_t v = '1';
    r.publish(make_message("t", {&v, 1}, qos::at_least_once, true), out);
    std::vector<message_ptr> retained;
    r.subscribe({a, 1, qos::at_least_once}, "$share/g/t", retained);
    CHECK(retained.empty());
    r.publish(make_message("t", {&v, 1}, qos::at_least_once, false), out);
    CHECK(out.size() == 1);
    r.unsubscribe(a.get(), "$share/g/t");
    CHECK(r.subscription_count() == 0);
    r.publish(make_message("t", {&v, 1}, qos::at_least_once, false), out);
    CHECK(out.empty());
    subscriber picked;
    CHECK_FALSE(r.pick_shared(std::make_shared<const std::string>("$share/g/t"), {}, picked));
}

TEST_CASE("router: a group on '#' follows [MQTT-4.7.2-1]: no '$' topics") {
    router r;
    const auto a = member("a");
    std::vector<message_ptr> retained;
    r.subscribe({a, 1, qos::at_least_once}, "$share/g/#", retained);
    std::vector<subscriber> out;
    r.publish(make_message("$SYS/x", {}, qos::at_least_once, false), out);
    CHECK(out.empty());
    r.publish(make_message("x", {}, qos::at_least_once, false), out);
    CHECK(out.size() == 1);
}

TEST_CASE("router: the configured strategy applies per group") {
    router r;
    share_strategies strategies;
    strategies.by_group["sticky"] = share_strategy::sticky_by_publisher;
    r.set_share_strategies(strategies);
    const auto a = member("a"), b = member("b");
    std::vector<message_ptr> retained;
    for (const auto& m : {a, b}) {
        r.subscribe({m, 1, qos::at_least_once}, "$share/sticky/t", retained);
        r.subscribe({m, 1, qos::at_least_once}, "$share/rr/t", retained);
    }
    std::map<std::string, int> copies;
    std::vector<subscriber> out;
    for (int i = 0; i < 20; ++i) {
        r.publish(make_message("t", {}, qos::at_least_once, false), out, "pub");
        for (const auto& t : out) ++copies[*t.share + " " + t.session->client_id];
    }
    CHECK(copies["$share/rr/t a"] == 10);
    CHECK(copies["$share/rr/t b"] == 10);
    CHECK(copies["$share/sticky/t a"] + copies["$share/sticky/t b"] == 20);
    CHECK(copies["$share/sticky/t a"] * copies["$share/sticky/t b"] == 0);
}
