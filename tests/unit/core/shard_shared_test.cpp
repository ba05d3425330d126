// Shared subscriptions through the shards, without threads: members on different shards, exactly one copy per
// group, and what happens to a group's messages when a member goes away (README: "Shared subscriptions").

#include <doctest/doctest.h>

#include "shard_doctest.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

namespace {

core::shard_options limits(std::size_t max_inflight, core::storage_mode storage = core::storage_mode::off) {
    core::shard_options o{{max_inflight, 1'000'000, 0}, {}};
    o.storage = storage;
    return o;
}

// Publishes "pub:1".."pub:n" at q from a client on shard `on`, then lets every message arrive.
void publish_numbered(shard_scheduler& s, std::size_t on, int n, qos q, std::mt19937& rng) {
    const auto pub = s.connect(on, params("pub", true));
    for (int i = 1; i <= n; ++i)
        s.send(pub, publish("jobs/x", q, static_cast<protocol::packet_id>(i), "pub:" + std::to_string(i)));
    s.run_until_quiet(rng);
}

struct two_members {
    core::connection_id a, b;
};

// Clients "a" on shard 0 and "b" on shard 1 join $share/g/jobs/# at q; every shard reports to `log`.
two_members join_two(shard_scheduler& s, intake_log& log, bool a_clean, bool b_clean, qos q = qos::at_least_once) {
    for (std::size_t i = 0; i < s.size(); ++i) s.at(i).set_observer(&log);
    const two_members m{s.connect(0, params("a", a_clean)), s.connect(1, params("b", b_clean))};
    s.send(m.a, subscribe(1, "$share/g/jobs/#", q));
    s.send(m.b, subscribe(1, "$share/g/jobs/#", q));
    return m;
}

std::size_t total(const intake_log& log, std::initializer_list<const char*> ids) {
    std::size_t n = 0;
    for (const auto* id : ids)
        if (log.taken.count(id) != 0) n += log.taken.at(id).size();
    return n;
}

}  // namespace

TEST_CASE("shard: a group's members on different shards each get their turn, and every message once") {
    shard_scheduler s{3};
    intake_log log;
    for (std::size_t i = 0; i < s.size(); ++i) s.at(i).set_observer(&log);
    std::vector<core::connection_id> members;
    for (std::size_t i = 0; i < 4; ++i) {
        members.push_back(s.connect(i % 3, params("m" + std::to_string(i), true)));
        s.send(members.back(), subscribe(1, "$share/workers/jobs/#", qos::at_least_once));
        CHECK(packets_of<protocol::suback>(s.client(members.back())).at(0).return_codes ==
              std::vector<std::uint8_t>{1});
    }
    std::mt19937 rng{7};
    publish_numbered(s, 1, 400, qos::at_least_once, rng);
    CHECK(total(log, {"m0", "m1", "m2", "m3"}) == 400);
    for (const auto* id : {"m0", "m1", "m2", "m3"}) CHECK(log.taken[id].size() == 100);
    check_clean(s, log);
}

TEST_CASE("shard: a malformed $share filter gets SUBACK 0x80 and the others in the packet stand (MQTT 5, 4.8.2)") {
    shard_scheduler s{1};
    const auto c = s.connect(0, params("c", true));
    s.send(c, protocol::subscribe{1, {{"$share/+/t", qos::at_least_once}, {"$share/g/t", qos::at_least_once},
                                      {"$share/g", qos::at_least_once}}});
    CHECK(packets_of<protocol::suback>(s.client(c)).at(0).return_codes == std::vector<std::uint8_t>{0x80, 1, 0x80});
    CHECK(s.routes.subscription_count() == 1);
    CHECK(s.at(0).find_session(s.registry.find("c").get())->subscriptions().size() == 1);
}

TEST_CASE("shard: UNSUBSCRIBE with the same $share string leaves the group") {
    shard_scheduler s{2};
    intake_log log;
    const auto [a, b] = join_two(s, log, true, true);
    s.send(a, protocol::unsubscribe{2, {"$share/g/jobs/#"}});
    std::mt19937 rng{3};
    publish_numbered(s, 0, 10, qos::at_least_once, rng);
    CHECK(total(log, {"a"}) == 0);
    CHECK(total(log, {"b"}) == 10);
    check_clean(s, log);
}

TEST_CASE("shard: what a clean-session member held goes to the others when it ends, in flight and queued") {
    shard_scheduler s{2, limits(2)};
    intake_log log;
    const auto [a, b] = join_two(s, log, true, true);
    std::mt19937 rng{5};
    publish_numbered(s, 0, 20, qos::at_least_once, rng);
    // a took 10: 2 in flight (never acknowledged) and 8 queued behind them; b acknowledges everything.
    REQUIRE(log.taken["a"].size() == 10);
    for (const auto& p : publishes_of(s.client(b))) s.send(b, protocol::puback{p.id});
    s.drop(a);  // [MQTT-3.1.2-6] its session ends
    for (int round = 0; round < 20; ++round) {
        s.run_until_quiet(rng);
        for (const auto& p : publishes_of(s.client(b))) s.send(b, protocol::puback{p.id});
    }
    // Every message reached b, a's ten once more.
    std::set<std::string> at_b(log.taken["b"].begin(), log.taken["b"].end());
    CHECK(at_b.size() == 20);
    CHECK(log.taken["b"].size() == 20);
    CHECK(s.at(0).stats().shared_redispatched + s.at(1).stats().shared_redispatched == 10);
    CHECK(shard_problems(s) == "");
}

// Found by the shard fuzzer: the old session was forgotten twice (once as it ended, once as the empty session
// for the waiting CONNECT replaced it), so every group message it held went out twice.
TEST_CASE("shard: a clean member dropped while a CONNECT for its id is on its way hands each message back once") {
    shard_scheduler s{2, limits(2)};
    intake_log log;
    log.checks_order = false;  // b's messages come to a after a's own: a group keeps no order across members
    const auto [a, b] = join_two(s, log, true, true);
    std::mt19937 rng{5};
    publish_numbered(s, 0, 20, qos::at_least_once, rng);
    REQUIRE(log.taken["b"].size() == 10);
    s.connect(0, params("b", true));  // its CONNECT travels to shard 1, where b's session is
    s.drop(b);                        // [MQTT-3.1.2-6] the old session ends before the CONNECT arrives
    for (int round = 0; round < 20; ++round) {
        s.run_until_quiet(rng);
        for (const auto& p : publishes_of(s.client(a))) s.send(a, protocol::puback{p.id});
    }
    for (const auto& f : log.failures) MESSAGE(f);
    CHECK(log.failures.empty());
    CHECK(s.at(0).stats().shared_redispatched + s.at(1).stats().shared_redispatched == 10);
    std::set<std::string> at_a(log.taken["a"].begin(), log.taken["a"].end());
    CHECK(at_a.size() == 20);
    CHECK(log.taken["a"].size() == 20);
    CHECK(shard_problems(s) == "");
}

TEST_CASE("shard: a QoS 2 message whose PUBREC came is the member's: not sent to another when it ends") {
    shard_scheduler s{2, limits(10)};
    intake_log log;
    for (std::size_t i = 0; i < s.size(); ++i) s.at(i).set_observer(&log);
    const auto a = s.connect(0, params("a", true));
    s.send(a, subscribe(1, "$share/g/jobs/#", qos::exactly_once));
    std::mt19937 rng{9};
    publish_numbered(s, 1, 2, qos::exactly_once, rng);
    const auto sent = publishes_of(s.client(a));
    REQUIRE(sent.size() == 2);
    s.send(a, protocol::pubrec{sent[0].id});  // pub:1 is a's now [MQTT-4.3.3-1]; pub:2 is not yet
    const auto b = s.connect(1, params("b", true));
    s.send(b, subscribe(1, "$share/g/jobs/#", qos::exactly_once));
    s.drop(a);
    s.run_until_quiet(rng);
    REQUIRE(publishes_of(s.client(b)).size() == 1);
    CHECK(text(publishes_of(s.client(b))[0].msg->payload()) == "pub:2");
    CHECK(shard_problems(s) == "");
}

TEST_CASE("shard: a group message reaching a member that is gone goes to another member") {
    shard_scheduler s{2};
    intake_log log;
    for (std::size_t i = 0; i < s.size(); ++i) s.at(i).set_observer(&log);
    const auto a = s.connect(1, params("a", true));
    s.send(a, subscribe(1, "$share/g/jobs/#", qos::at_least_once));
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("jobs/x", qos::at_least_once, 1, "pub:1"));  // picked a; on its way to shard 1
    REQUIRE(s.has_message(0, 1));
    const auto b = s.connect(0, params("b", true));
    s.send(b, subscribe(1, "$share/g/jobs/#", qos::at_least_once));
    s.drop(a);  // gone before the delivery arrives
    std::mt19937 rng{1};
    s.run_until_quiet(rng);
    CHECK(log.taken["b"] == std::vector<std::string>{"pub:1"});
    CHECK(s.at(1).stats().shared_redispatched == 1);
    check_clean(s, log);
}

TEST_CASE("shard: with no member left, a group's message is counted and logged as undeliverable") {
    shard_scheduler s{1, limits(1)};
    const auto a = s.connect(0, params("a", true));
    s.send(a, subscribe(1, "$share/g/jobs/#", qos::at_least_once));
    std::mt19937 rng{1};
    publish_numbered(s, 0, 3, qos::at_least_once, rng);
    s.drop(a);
    CHECK(s.at(0).stats().shared_undeliverable == 3);
}

TEST_CASE("shard: a persistent member that disconnects keeps what it was given, and gets it on reconnect") {
    shard_scheduler s{2, limits(10)};
    intake_log log;
    const auto [a, b] = join_two(s, log, false, true);
    std::mt19937 rng{2};
    publish_numbered(s, 1, 4, qos::at_least_once, rng);
    REQUIRE(publishes_of(s.client(a)).size() == 2);
    s.drop(a);
    // Offline now: the group sends to b, the member online.
    const auto pub2 = s.connect(1, params("pub2", true));
    for (int i = 1; i <= 4; ++i)
        s.send(pub2, publish("jobs/x", qos::at_least_once, static_cast<protocol::packet_id>(i), "pub2:" + std::to_string(i)));
    s.run_until_quiet(rng);
    CHECK(log.taken["a"].size() == 2);
    CHECK(log.taken["b"].size() == 6);
    const auto again = s.connect(0, params("a", false));
    s.run_until_quiet(rng);
    REQUIRE(s.client(again).session_present);
    const auto resent = publishes_of(s.client(again));
    REQUIRE(resent.size() == 2);  // [MQTT-4.4.0-1] its two unacknowledged messages, again
    CHECK(resent[0].dup);
    CHECK(s.at(0).stats().shared_redispatched + s.at(1).stats().shared_redispatched == 0);
    check_clean(s, log);
}

TEST_CASE("shard: a message sent on to a persistent member is stored as that member's own") {
    shard_scheduler s{1, limits(10, core::storage_mode::write_through)};
    const auto a = s.connect(0, params("a", true));
    const auto b = s.connect(0, params("b", false));
    s.send(a, subscribe(1, "$share/g/jobs/#", qos::at_least_once));
    s.send(b, subscribe(1, "$share/g/jobs/#", qos::at_least_once));
    std::mt19937 rng{4};
    publish_numbered(s, 0, 2, qos::at_least_once, rng);  // one to a (not stored: clean), one to b (stored)
    while (s.complete_storage()) {}
    REQUIRE(publishes_of(s.client(a)).size() == 1);
    s.drop(a);
    while (s.complete_storage()) {}
    std::size_t b_entries = 0;
    for (const auto& r : s.applied())
        for (const auto& op : r.request.ops)
            if (const auto* q = std::get_if<storage::put_queue_entry>(&op); q != nullptr && q->client_id == "b") ++b_entries;
    CHECK(b_entries >= 2);  // its own message and the one a left
    CHECK(publishes_of(s.client(b)).size() == 2);
}

namespace {

// A group member's client: answers every QoS 2 PUBLISH with PUBREC and every PUBREL with PUBCOMP, and notes
// which member each message was PUBREC'd by (from then on it is that member's [MQTT-4.3.3-1]).
struct member_client {
    std::string id;
    bool clean;
    core::connection_id conn = 0;
    std::size_t seen = 0;
};

void answer(shard_scheduler& s, member_client& m, std::map<std::string, std::set<std::string>>& owners) {
    if (m.conn == 0) return;
    auto& c = s.client(m.conn);
    while (c.is_open && m.seen < c.received.size()) {
        const auto o = c.received[m.seen++];
        if (const auto* p = std::get_if<core::send_publish>(&o)) {
            owners[text(p->msg->payload())].insert(m.id);
            s.send(m.conn, protocol::pubrec{p->id});
        } else if (const auto* k = std::get_if<core::send_packet>(&o)) {
            if (const auto* rel = std::get_if<protocol::pubrel>(&k->packet)) s.send(m.conn, protocol::pubcomp{rel->id});
        }
    }
}

void join(shard_scheduler& s, member_client& m, std::size_t shard) {
    m.conn = s.connect(shard, params(m.id, m.clean));
    m.seen = 0;
    s.send(m.conn, subscribe(1, "$share/g/jobs/#", qos::exactly_once));
}

}  // namespace

TEST_CASE("shard: members dropping and rejoining at random lose no QoS 2 message and never share one") {
    // Three clean members and a persistent one (so the group is never empty) on three shards; a publisher
    // sends 150 QoS 2 messages while members drop and rejoin, anywhere, between any two steps.
    std::uint64_t redispatched = 0;
    for (unsigned seed = 1; seed <= 30; ++seed) {
        CAPTURE(seed);
        std::mt19937 rng{seed};
        shard_scheduler s{3, limits(5)};
        std::vector<member_client> members{{"c0", true}, {"c1", true}, {"c2", true}, {"p", false}};
        for (std::size_t i = 0; i < members.size(); ++i) join(s, members[i], i % 3);
        const auto pub = s.connect(seed % 3, params("pub", true));
        std::map<std::string, std::set<std::string>> owners;
        int sent = 0;
        const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng); };
        for (int step = 0; step < 2000; ++step) {
            const auto action = pick(10);
            if (action < 3 && sent < 150) {
                ++sent;
                s.send(pub, publish("jobs/x", qos::exactly_once, static_cast<protocol::packet_id>(sent),
                                    "pub:" + std::to_string(sent)));
                s.send(pub, protocol::pubrel{static_cast<protocol::packet_id>(sent)});
            } else if (action == 3) {
                auto& m = members[pick(members.size())];
                if (m.conn != 0 && s.client(m.conn).is_open) s.drop(m.conn);
            } else if (action == 4) {
                auto& m = members[pick(members.size())];
                if (m.conn == 0 || !s.client(m.conn).is_open) join(s, m, pick(3));
            } else if (action == 5) {
                answer(s, members[pick(members.size())], owners);  // members answer late, so drops catch
            } else {                                              // messages in flight
                s.deliver_random(rng);
            }
        }
        // Everyone back, and every flow finished.
        for (auto& m : members)
            if (!s.client(m.conn).is_open) join(s, m, pick(3));
        for (int round = 0; round < 200 && (s.in_flight() != 0 || round < 3); ++round) {
            s.run_until_quiet(rng);
            for (auto& m : members) answer(s, m, owners);
        }
        REQUIRE(sent == 150);
        for (int i = 1; i <= sent; ++i) {
            const auto& who = owners["pub:" + std::to_string(i)];
            CAPTURE(i);
            CHECK(who.size() == 1);  // nothing lost, and no two members hold one message
        }
        CHECK(shard_problems(s) == "");
        for (std::size_t i = 0; i < s.size(); ++i) redispatched += s.at(i).stats().shared_redispatched;
    }
    MESSAGE("messages sent on to another member: " << redispatched);
    CHECK(redispatched > 100);  // the test did reach the case it is about
}
