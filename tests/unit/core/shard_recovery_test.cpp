// The storage promise, checked without threads or disks: shards in write-through mode run a takeover storm
// with storage completing at random; at a random step the "broker" crashes (everything in memory is gone,
// storage requests not yet completed are lost). The requests that did complete are applied to a
// storage::memory_engine, read back, and restored into fresh shards. Every message the broker had
// acknowledged to its publisher (PUBACK) and the subscriber had not acknowledged must reach the subscriber
// after the restart [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-4.3.2-2].
//
// A failing seed replays alone with MQTTD_SHARD_SEED=<seed>.

#include <cstdlib>
#include <set>

#include <doctest/doctest.h>

#include "shard_checks.hpp"
#include "storage/memory_engine.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

namespace {

core::shard_options write_through() {
    core::shard_options o{{1000, 1'000'000, 0}, {}};
    o.storage = core::storage_mode::write_through;
    return o;
}

std::size_t pick(std::mt19937& rng, std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng); }

// Acknowledges what a subscriber connection received (QoS 1), remembering the payloads it acknowledged.
void acknowledge(shard_scheduler& s, core::connection_id c, std::size_t& answered, std::set<std::string>& acked) {
    const auto& got = s.client(c).received;
    for (; answered < got.size() && s.client(c).is_open; ++answered) {
        if (const auto* p = std::get_if<core::send_publish>(&got[answered])) {
            acked.insert(text(p->msg->payload()));
            s.send(c, protocol::puback{p->id});
        }
    }
}

// Restores what the engine holds into fresh shards, as the broker does at start-up.
void restore(shard_scheduler& s, storage::engine& engine) {
    auto state = engine.recover();
    std::unordered_map<std::uint64_t, core::message_ptr> messages;
    for (const auto& m : state.messages) {
        auto msg = core::make_message(m.topic, bytes(m.payload), static_cast<qos>(m.qos), m.retain);
        msg->set_storage_id(m.id);
        messages.emplace(m.id, msg);
    }
    for (std::size_t i = 0; i < state.sessions.size(); ++i) s.at(i % s.size()).restore(state.sessions[i], messages, {});
}

void run_crash(std::size_t shards, unsigned seed) {
    std::mt19937 rng{seed};
    std::set<std::string> acked_to_publisher;
    std::set<std::string> acked_by_subscriber;
    storage::memory_engine engine;
    {
        shard_scheduler s{shards, write_through()};
        const auto setup = s.connect(pick(rng, shards), params("dev", false));
        s.send(setup, protocol::subscribe{1, {{"t", qos::at_least_once}}});
        s.drop(setup);
        std::vector<std::pair<std::string, core::connection_id>> pubs{
            {"pub-a", s.connect(pick(rng, shards), params("pub-a", true))},
            {"pub-b", s.connect(pick(rng, shards), params("pub-b", true))}};
        std::map<std::string, long> next;
        std::vector<std::string> payloads;
        payloads.reserve(1000);
        std::vector<core::connection_id> devs;
        std::map<core::connection_id, std::size_t> answered;
        const auto crash_at = 20 + pick(rng, 280);
        for (std::size_t step = 0; step < crash_at; ++step) {
            const auto dice = pick(rng, 100);
            if (dice < 30) {
                auto& [name, conn] = pubs[pick(rng, pubs.size())];
                const auto n = ++next[name];
                payloads.push_back(name + ":" + std::to_string(n));
                s.send(conn, protocol::publish{false, qos::at_least_once, false, "t",
                                               static_cast<protocol::packet_id>(n), bytes(payloads.back())});
            } else if (dice < 40) {
                devs.push_back(s.connect(pick(rng, shards), params("dev", false)));
            } else if (dice < 47 && !devs.empty()) {
                s.drop(devs[pick(rng, devs.size())]);
            } else if (dice < 60 && !devs.empty()) {
                const auto c = devs[pick(rng, devs.size())];
                if (s.client(c).is_attached) acknowledge(s, c, answered[c], acked_by_subscriber);
            } else {
                s.deliver_random(rng);
            }
        }
        // The crash: what was applied survives; the rest of memory does not.
        for (const auto& [name, conn] : pubs)
            for (const auto& ack : packets_of<protocol::puback>(s.client(conn)))
                acked_to_publisher.insert(name + ":" + std::to_string(ack.id));
        for (const auto& r : s.applied()) engine.apply(r.request.ops, true);
    }
    shard_scheduler after{shards, write_through()};
    restore(after, engine);
    const auto last = after.connect(pick(rng, shards), params("dev", false));
    std::set<std::string> received;
    std::size_t answered = 0;
    for (int round = 0; round < 10000; ++round) {
        after.run_until_quiet(rng);
        const auto before = answered;
        acknowledge(after, last, answered, received);
        if (answered == before) break;
    }
    CHECK(shard_problems(after) == "");
    for (const auto& m : acked_to_publisher) {
        if (acked_by_subscriber.count(m) != 0 || received.count(m) != 0) continue;
        FAIL("acknowledged " << m << " was lost in the crash (step count " << acked_to_publisher.size() << ")");
    }
}

std::vector<unsigned> seeds(unsigned count) {
    if (const char* one = std::getenv("MQTTD_SHARD_SEED")) return {static_cast<unsigned>(std::strtoul(one, nullptr, 10))};
    std::vector<unsigned> out(count);
    for (unsigned i = 0; i < count; ++i) out[i] = i + 1;
    return out;
}

}  // namespace

TEST_CASE("shard recovery: a crash at a random step loses no acknowledged message, 2-3 shards, 600 seeds") {
    for (const auto seed : seeds(300)) {
        for (const std::size_t shards : {2, 3}) {
            CAPTURE(seed);
            CAPTURE(shards);
            run_crash(shards, seed);
        }
    }
}
