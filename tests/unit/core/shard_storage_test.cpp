// core::shard with storage: what a PUBLISH, a SUBSCRIBE or a QoS 2 flow asks to store, and, in write-through
// mode, that nothing a client or subscriber sees comes before what it confirms is stored.

#include "broker/core/shard.hpp"

#include <doctest/doctest.h>

#include "shard_checks.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

namespace {

core::shard_options stored(core::storage_mode mode = core::storage_mode::write_through) {
    core::shard_options o{{1000, 1'000'000, 0}, {}};
    o.storage = mode;
    return o;
}

template <class Op>
std::vector<Op> ops_of(const shard_scheduler& s) {
    std::vector<Op> out;
    for (const auto& r : s.storage_queue())
        for (const auto& op : r.request.ops)
            if (const auto* o = std::get_if<Op>(&op)) out.push_back(*o);
    return out;
}

// A persistent subscriber that subscribed (its SUBACK's storage completed) and went offline.
void offline_subscriber(shard_scheduler& s, std::size_t shard, const std::string& id, std::string_view filter, qos q) {
    const auto c = s.connect(shard, params(id, false));
    s.send(c, protocol::subscribe{1, {{filter, q}}});
    while (s.complete_storage()) {}
    s.drop(c);
    while (s.complete_storage()) {}
}

}  // namespace

TEST_CASE("shard storage: a QoS 1 PUBLISH stores its body once and a queue entry per persistent subscriber") {
    shard_scheduler s{1, stored()};
    offline_subscriber(s, 0, "p1", "t", qos::at_least_once);
    offline_subscriber(s, 0, "p2", "t", qos::exactly_once);
    offline_subscriber(s, 0, "q0", "t", qos::at_most_once);  // persistent, but takes it at QoS 0: not stored
    const auto clean = s.connect(0, params("clean", true));
    s.send(clean, protocol::subscribe{1, {{"t", qos::at_least_once}}});
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("t", qos::at_least_once, 5, "pub:1"));
    const auto bodies = ops_of<storage::put_message>(s);
    REQUIRE(bodies.size() == 1);
    CHECK(bodies[0].references == 2);
    CHECK(bodies[0].message.payload == "pub:1");
    const auto entries = ops_of<storage::put_queue_entry>(s);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].entry.message_id == bodies[0].message.id);
    CHECK(entries[1].entry.message_id == bodies[0].message.id);
}

TEST_CASE("shard storage: write-through holds the PUBACK and the deliveries until the message is stored") {
    shard_scheduler s{2, stored()};
    const auto sub = s.connect(1, params("sub", false));
    s.send(sub, protocol::subscribe{1, {{"t", qos::at_least_once}}});
    CHECK(packets_of<protocol::suback>(s.client(sub)).empty());  // the subscription is stored first
    while (s.complete_storage()) {}
    CHECK(packets_of<protocol::suback>(s.client(sub)).size() == 1);
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));
    s.send(pub, publish("t", qos::at_least_once, 2, "pub:2"));
    std::mt19937 rng{1};
    while (s.in_flight() != 0) s.deliver_random(rng);  // channels only: storage still pending
    CHECK(packets_of<protocol::puback>(s.client(pub)).empty());
    CHECK(publishes_of(s.client(sub)).empty());
    s.complete_storage();  // pub:1 stored
    s.run_until_quiet(rng);
    CHECK(packets_of<protocol::puback>(s.client(pub)).size() == 2);  // pub:2 after it, in order
    const auto got = publishes_of(s.client(sub));
    REQUIRE(got.size() == 2);
    CHECK(text(got[0].msg->payload()) == "pub:1");
    CHECK(text(got[1].msg->payload()) == "pub:2");
}

TEST_CASE("shard storage: a failed store is not acknowledged: the publisher is disconnected and nothing is delivered") {
    shard_scheduler s{1, stored()};
    const auto sub = s.connect(0, params("sub", false));
    s.send(sub, protocol::subscribe{1, {{"t", qos::at_least_once}}});
    while (s.complete_storage()) {}
    const auto pub = s.connect(0, params("pub", false));
    while (s.complete_storage()) {}  // its session record
    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));
    s.complete_storage(false);
    CHECK(packets_of<protocol::puback>(s.client(pub)).empty());
    CHECK_FALSE(s.client(pub).is_open);
    const auto& last = s.client(pub).received.back();
    REQUIRE(std::holds_alternative<core::close_connection>(last));
    CHECK(std::get<core::close_connection>(last).reason == core::close_reason::storage_failed);
    CHECK(publishes_of(s.client(sub)).empty());
    CHECK(s.at(0).stats().storage_failures == 1);
}

TEST_CASE("shard storage: an inbound QoS 2 id is stored with the message, and deleted before PUBCOMP [MQTT-4.3.3-2]") {
    shard_scheduler s{1, stored()};
    const auto pub = s.connect(0, params("pub", false));
    while (s.complete_storage()) {}
    s.send(pub, publish("t", qos::exactly_once, 9, "pub:1"));
    const auto ids = ops_of<storage::put_inbound_id>(s);
    REQUIRE(ids.size() == 1);
    CHECK(ids[0].client_id == "pub");
    CHECK(ids[0].packet_id == 9);
    CHECK(packets_of<protocol::pubrec>(s.client(pub)).empty());
    while (s.complete_storage()) {}
    CHECK(packets_of<protocol::pubrec>(s.client(pub)).size() == 1);
    s.send(pub, protocol::pubrel{9});
    CHECK(ops_of<storage::delete_inbound_id>(s).size() == 1);
    CHECK(packets_of<protocol::pubcomp>(s.client(pub)).empty());
    while (s.complete_storage()) {}
    CHECK(packets_of<protocol::pubcomp>(s.client(pub)).size() == 1);
}

TEST_CASE("shard storage: an outgoing QoS 2 PUBLISH waits for its packet id, PUBREL for its state [MQTT-4.4.0-1]") {
    shard_scheduler s{1, stored()};
    offline_subscriber(s, 0, "sub", "t", qos::exactly_once);
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("t", qos::exactly_once, 1, "pub:1"));
    while (s.complete_storage()) {}
    const auto sub = s.connect(0, params("sub", false));
    CHECK(publishes_of(s.client(sub)).empty());  // its packet id is being stored
    const auto entries = ops_of<storage::put_queue_entry>(s);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].entry.state == storage::delivery_state::awaiting_pubrec);
    while (s.complete_storage()) {}
    const auto sent = publishes_of(s.client(sub));
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].id == entries[0].entry.packet_id);
    s.send(sub, protocol::pubrec{sent[0].id});
    CHECK(packets_of<protocol::pubrel>(s.client(sub)).empty());
    REQUIRE(ops_of<storage::put_queue_entry>(s).size() == 1);
    CHECK(ops_of<storage::put_queue_entry>(s)[0].entry.state == storage::delivery_state::awaiting_pubcomp);
    while (s.complete_storage()) {}
    CHECK(packets_of<protocol::pubrel>(s.client(sub)).size() == 1);
    s.send(sub, protocol::pubcomp{sent[0].id});
    CHECK(ops_of<storage::delete_queue_entry>(s).size() == 1);
}

TEST_CASE("shard storage: write-behind stores the same but acknowledges at once") {
    shard_scheduler s{1, stored(core::storage_mode::write_behind)};
    const auto sub = s.connect(0, params("sub", false));
    s.send(sub, protocol::subscribe{1, {{"t", qos::at_least_once}}});
    CHECK(packets_of<protocol::suback>(s.client(sub)).size() == 1);
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));
    CHECK(packets_of<protocol::puback>(s.client(pub)).size() == 1);
    CHECK(publishes_of(s.client(sub)).size() == 1);
    CHECK(ops_of<storage::put_message>(s).size() == 1);
}

TEST_CASE("shard storage: a discarded persistent session leaves storage with its queue") {
    shard_scheduler s{1, stored()};
    offline_subscriber(s, 0, "sub", "t", qos::at_least_once);
    s.connect(0, params("sub", true));  // clean session 1 discards it [MQTT-3.1.2-6]
    const auto deletes = ops_of<storage::delete_session>(s);
    REQUIRE(deletes.size() == 1);
    CHECK(deletes[0].client_id == "sub");
}

TEST_CASE("shard storage: a restored session resumes its queue and in-flight messages in order [MQTT-4.4.0-1]") {
    shard_scheduler s{1, stored()};
    storage::recovered_session stored_session;
    stored_session.client_id = "dev";
    stored_session.subscriptions = {{"t", 2}};
    stored_session.queue = {{7, 2, false, storage::delivery_state::awaiting_pubrec, 41},
                            {8, 2, false, storage::delivery_state::awaiting_pubcomp, 42},
                            {9, 1, false, storage::delivery_state::queued, 0}};
    stored_session.inbound_ids = {5};
    std::unordered_map<std::uint64_t, core::message_ptr> messages;
    for (const std::uint64_t id : {7, 9}) {
        auto m = core::make_message("t", bytes("m" + std::to_string(id)), qos::exactly_once, false);
        m->set_storage_id(id);
        messages.emplace(id, m);
    }
    s.at(0).restore(stored_session, messages, {});
    const auto c = s.connect(0, params("dev", false));
    while (s.complete_storage()) {}
    CHECK(s.client(c).session_present);
    const auto& got = s.client(c).received;
    // attached, CONNACK, PUBLISH 41 (DUP), PUBREL 42, then the queued one under a new id.
    REQUIRE(got.size() >= 5);
    const auto& resent = std::get<core::send_publish>(got[2]);
    CHECK(resent.id == 41);
    CHECK(resent.dup);
    CHECK(std::get<protocol::pubrel>(std::get<core::send_packet>(got[3]).packet).id == 42);
    CHECK(text(std::get<core::send_publish>(got[4]).msg->payload()) == "m9");
    // The restored subscription is live, and the inbound id still recognises a resent PUBLISH.
    s.send(c, publish("x", qos::exactly_once, 5, "dup"));
    CHECK(ops_of<storage::put_message>(s).empty());
}

TEST_CASE("shard storage: a restored queue keeps to the queue limits, and deletes what does not fit") {
    // Entries of messages the session dropped just before a crash (their deletes are not waited for), or a
    // max_queued_messages lowered since: restored as if they arrived now.
    for (const auto overflow : {core::queue_overflow::drop_new, core::queue_overflow::drop_oldest}) {
        CAPTURE(static_cast<int>(overflow));
        auto options = stored();
        options.session.max_queued_messages = 3;
        options.session.overflow = overflow;
        shard_scheduler s{1, options};
        storage::recovered_session stored_session;
        stored_session.client_id = "dev";
        stored_session.subscriptions = {{"t", 1}};
        std::unordered_map<std::uint64_t, core::message_ptr> messages;
        for (std::uint64_t id = 1; id <= 5; ++id) {
            stored_session.queue.push_back({id, 1, false, storage::delivery_state::queued, 0});
            auto m = core::make_message("t", bytes("m" + std::to_string(id)), qos::at_least_once, false);
            m->set_storage_id(id);
            messages.emplace(id, m);
        }
        s.at(0).restore(stored_session, messages, {});
        const auto c = s.connect(0, params("dev", false));
        while (s.complete_storage()) {}
        std::vector<std::string> delivered;
        for (const auto& r : s.client(c).received)
            if (const auto* p = std::get_if<core::send_publish>(&r)) delivered.emplace_back(text(p->msg->payload()));
        std::vector<std::uint64_t> deleted;
        for (const auto& r : s.applied())
            for (const auto& op : r.request.ops)
                if (const auto* d = std::get_if<storage::delete_queue_entry>(&op)) deleted.push_back(d->message_id);
        if (overflow == core::queue_overflow::drop_new) {
            CHECK(delivered == std::vector<std::string>{"m1", "m2", "m3"});
            CHECK(deleted == std::vector<std::uint64_t>{4, 5});
        } else {
            CHECK(delivered == std::vector<std::string>{"m3", "m4", "m5"});
            CHECK(deleted == std::vector<std::uint64_t>{1, 2});
        }
        CHECK(s.at(0).stats().dropped[static_cast<std::size_t>(core::drop_reason::queue_full)] == 2);
    }
}
