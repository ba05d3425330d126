// core::shard under thousands of seeded random interleavings: clients connect, take over, drop, publish
// and acknowledge while cross-shard messages are delivered in random order. After every step the
// invariants hold: one owner per client id, every message taken in at most once per session incarnation
// and in publish order per publisher, no state nobody foresaw, bounded nesting. Where sessions are
// persistent, nothing acknowledged to a publisher is lost.
//
// A failing seed replays exactly: MQTTD_SHARD_SEED=<seed> runs only that one.

#include <cstdlib>

#include <doctest/doctest.h>

#include "shard_checks.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

namespace {

struct world {
    world(std::size_t shards, unsigned seed, core::storage_mode storage = core::storage_mode::off)
        : s{shards, options(storage)}, rng{seed} {
        for (std::size_t i = 0; i < shards; ++i) s.at(i).set_observer(&log);
    }

    static core::shard_options options(core::storage_mode storage) {
        core::shard_options o{{1000, 1'000'000, 0}, {}};
        o.storage = storage;
        return o;
    }

    std::size_t any_shard() { return pick(s.size()); }
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng); }
    bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

    // Acknowledges every PUBLISH (QoS 1) and PUBREC/PUBREL flow the client has received and not answered.
    void acknowledge(core::connection_id c) {
        auto& answered = answered_[c];
        const auto& got = s.client(c).received;
        for (; answered < got.size(); ++answered) {
            if (const auto* p = std::get_if<core::send_publish>(&got[answered])) {
                if (p->qos_level == qos::at_least_once) s.send(c, protocol::puback{p->id});
                if (p->qos_level == qos::exactly_once) s.send(c, protocol::pubrec{p->id});
            } else if (const auto* sp = std::get_if<core::send_packet>(&got[answered])) {
                if (const auto* rel = std::get_if<protocol::pubrel>(&sp->packet)) s.send(c, protocol::pubcomp{rel->id});
                if (const auto* rec = std::get_if<protocol::pubrec>(&sp->packet)) s.send(c, protocol::pubrel{rec->id});
            }
            if (!s.client(c).is_open) return;
        }
    }

    std::string invariant_problem(const std::vector<std::string>& client_ids) {
        for (const auto& id : client_ids)
            if (auto p = owner_problem(s, id); !p.empty()) return p;
        if (auto p = shard_problems(s); !p.empty()) return p;
        if (!log.failures.empty()) return log.failures.front();
        return "";
    }

    shard_scheduler s;
    intake_log log;
    std::mt19937 rng;

private:
    std::map<core::connection_id, std::size_t> answered_;
};

std::vector<unsigned> seeds(unsigned count) {
    if (const char* one = std::getenv("MQTTD_SHARD_SEED")) return {static_cast<unsigned>(std::strtoul(one, nullptr, 10))};
    std::vector<unsigned> out(count);
    for (unsigned i = 0; i < count; ++i) out[i] = i + 1;
    return out;
}

// A persistent session taken over again and again, from every shard, while two publishers send numbered
// QoS 1 messages: whatever a publisher got PUBACK for reaches the session exactly once, in order.
void run_takeover_storm(std::size_t shards, unsigned seed, core::storage_mode storage = core::storage_mode::off) {
    world w{shards, seed, storage};
    auto& s = w.s;
    const std::vector<std::string> ids{"dev", "pub-a", "pub-b"};

    const auto setup = s.connect(w.any_shard(), params("dev", false));
    s.send(setup, protocol::subscribe{1, {{"t", qos::at_least_once}}});
    s.drop(setup);
    struct publisher {
        std::string name;
        core::connection_id conn;
        long next = 1;
    };
    std::vector<publisher> pubs{{"pub-a", s.connect(w.any_shard(), params("pub-a", true))},
                                {"pub-b", s.connect(w.any_shard(), params("pub-b", true))}};
    std::vector<core::connection_id> devs;
    std::vector<std::string> payload_text;  // keeps PUBLISH payload views alive
    payload_text.reserve(1000);

    for (int step = 0; step < 300; ++step) {
        const auto dice = w.pick(100);
        if (dice < 25) {
            auto& p = pubs[w.pick(pubs.size())];
            payload_text.push_back(p.name + ":" + std::to_string(p.next));
            s.send(p.conn, protocol::publish{false, qos::at_least_once, false, "t",
                                             static_cast<protocol::packet_id>(p.next), bytes(payload_text.back())});
            ++p.next;
        } else if (dice < 37) {
            devs.push_back(s.connect(w.any_shard(), params("dev", false)));
        } else if (dice < 45 && !devs.empty()) {
            s.drop(devs[w.pick(devs.size())]);
        } else if (dice < 55 && !devs.empty()) {
            const auto c = devs[w.pick(devs.size())];
            if (s.client(c).is_open && s.client(c).is_attached) w.acknowledge(c);
        } else {
            s.deliver_random(w.rng);
        }
        const auto problem = w.invariant_problem(ids);
        if (!problem.empty()) FAIL("step " << step << ": " << problem);
    }

    // Everything settles; a last connection collects what the session holds.
    s.run_until_quiet(w.rng);
    const auto last = s.connect(w.any_shard(), params("dev", false));
    s.run_until_quiet(w.rng);
    REQUIRE(s.client(last).is_attached);
    for (int round = 0; round < 10000 && s.client(last).is_open; ++round) {
        const auto before = s.client(last).received.size();
        w.acknowledge(last);
        s.run_until_quiet(w.rng);
        if (s.client(last).received.size() == before) break;
    }
    const auto problem = w.invariant_problem(ids);
    if (!problem.empty()) FAIL("at the end: " << problem);

    // [MQTT-4.3.2-2] [MQTT-3.1.2-5] every PUBACKed message was taken in by the session, in order.
    const auto& taken = w.log.taken["dev"];
    for (const auto& p : pubs) {
        for (const auto& ack : packets_of<protocol::puback>(s.client(p.conn))) {
            const auto expected = p.name + ":" + std::to_string(ack.id);
            if (std::find(taken.begin(), taken.end(), expected) == taken.end())
                FAIL("acknowledged " << expected << " never reached the session");
        }
    }
    // The session's last connection got every message the session took in and nobody acknowledged.
    CHECK(s.at(s.client(last).shard).find_session(s.registry.find("dev").get())->queued_count() == 0);
}

// Clean and persistent sessions under several client ids, subscribing, unsubscribing and publishing at
// QoS 0/1/2 from every shard: discards, renewals and moves interleave.
void run_mixed_sessions(std::size_t shards, unsigned seed, core::storage_mode storage = core::storage_mode::off) {
    world w{shards, seed, storage};
    auto& s = w.s;
    const std::vector<std::string> ids{"a", "b", "c"};
    std::vector<core::connection_id> conns;
    std::map<core::connection_id, long> next_seq;
    std::vector<std::string> text_store;
    text_store.reserve(2000);
    const std::array<std::string_view, 3> filters{"t/1", "t/+", "#"};

    for (int step = 0; step < 300; ++step) {
        const auto dice = w.pick(100);
        const auto some_conn = [&]() -> core::connection_id {
            return conns.empty() ? 0 : conns[w.pick(conns.size())];
        };
        if (dice < 15) {
            conns.push_back(s.connect(w.any_shard(), params(ids[w.pick(ids.size())], w.chance(50))));
        } else if (dice < 22) {
            if (const auto c = some_conn()) s.drop(c);
        } else if (dice < 30) {
            if (const auto c = some_conn(); c && s.client(c).is_attached)
                s.send(c, protocol::subscribe{1, {{filters[w.pick(3)], static_cast<qos>(w.pick(3))}}});
        } else if (dice < 34) {
            if (const auto c = some_conn(); c && s.client(c).is_attached)
                s.send(c, protocol::unsubscribe{2, {filters[w.pick(3)]}});
        } else if (dice < 52) {
            if (const auto c = some_conn(); c && s.client(c).is_attached) {
                const auto q = static_cast<qos>(w.pick(3));
                const auto seq = ++next_seq[c];
                text_store.push_back("conn" + std::to_string(c) + ":" + std::to_string(seq));
                s.send(c, protocol::publish{false, q, false, w.chance(50) ? "t/1" : "t/2",
                                            static_cast<protocol::packet_id>(seq), bytes(text_store.back())});
            }
        } else if (dice < 60) {
            if (const auto c = some_conn(); c && s.client(c).is_attached) w.acknowledge(c);
        } else {
            s.deliver_random(w.rng);
        }
        const auto problem = w.invariant_problem(ids);
        if (!problem.empty()) FAIL("step " << step << ": " << problem);
    }
    s.run_until_quiet(w.rng);
    const auto problem = w.invariant_problem(ids);
    if (!problem.empty()) FAIL("at the end: " << problem);
    // Nobody is left waiting: every connection still open got its CONNACK (or a refusal, which would
    // have been counted as unforeseen above).
    for (const auto& [id, c] : s.clients())
        if (c.is_open) CHECK(c.is_attached);
}

}  // namespace

TEST_CASE("shard interleavings: takeover storm, 2 to 4 shards, 1,500 seeds [MQTT-4.6.0-6] [MQTT-3.1.4-2]") {
    for (const auto seed : seeds(500)) {
        for (const std::size_t shards : {2, 3, 4}) {
            CAPTURE(seed);
            CAPTURE(shards);
            run_takeover_storm(shards, seed);
        }
    }
}

TEST_CASE("shard interleavings: clean and persistent sessions mixed, 2 to 4 shards, 1,500 seeds [MQTT-3.1.2-6]") {
    for (const auto seed : seeds(500)) {
        for (const std::size_t shards : {2, 3, 4}) {
            CAPTURE(seed);
            CAPTURE(shards);
            run_mixed_sessions(shards, seed);
        }
    }
}

TEST_CASE("shard interleavings: takeover storm with write-through storage, storage completing at random, 600 seeds") {
    for (const auto seed : seeds(200)) {
        for (const std::size_t shards : {2, 3, 4}) {
            CAPTURE(seed);
            CAPTURE(shards);
            run_takeover_storm(shards, seed, core::storage_mode::write_through);
        }
    }
}

TEST_CASE("shard interleavings: clean and persistent sessions with write-through storage, 600 seeds") {
    for (const auto seed : seeds(200)) {
        for (const std::size_t shards : {2, 3, 4}) {
            CAPTURE(seed);
            CAPTURE(shards);
            run_mixed_sessions(shards, seed, core::storage_mode::write_through);
        }
    }
}
