// core::shard in chosen interleavings: takeover, migration between shards, and the protocol rules the shard
// applies (acknowledge before forwarding, wills on takeover). The random interleavings are in
// shard_interleaving_test.cpp.

#include "broker/core/shard.hpp"

#include <doctest/doctest.h>

#include "shard_doctest.hpp"

using namespace mqttd;
using namespace mqttd::test;
using protocol::qos;

namespace {

std::vector<std::string> payloads(const fake_client& c) {
    std::vector<std::string> out;
    for (const auto& p : publishes_of(c)) out.push_back(text(p.msg->payload()));
    return out;
}

}  // namespace

TEST_CASE("shard: a new client id gets a session on its own shard at once [MQTT-3.2.2-2]") {
    shard_scheduler s{2};
    const auto c = s.connect(1, params("dev", false));
    CHECK(s.client(c).is_attached);
    CHECK_FALSE(s.client(c).session_present);
    REQUIRE(packets_of<protocol::connack>(s.client(c)).size() == 1);
    CHECK(s.at(1).session_count() == 1);
    CHECK(s.in_flight() == 0);
    CHECK(owner_problem(s, "dev") == "");
}

TEST_CASE("shard: a persistent session moves to the shard of the connection that resumes it [MQTT-3.1.2-4]") {
    shard_scheduler s{2};
    const auto first = s.connect(0, params("dev", false));
    s.send(first, subscribe(1, "t", qos::at_least_once));
    const auto second = s.connect(1, params("dev", false));
    CHECK_FALSE(s.client(second).is_attached);  // waits while the session travels
    std::mt19937 rng{1};
    s.run_until_quiet(rng);
    CHECK_FALSE(s.client(first).is_open);  // [MQTT-3.1.4-2] taken over
    REQUIRE(s.client(second).is_attached);
    CHECK(s.client(second).session_present);  // [MQTT-3.2.2-2]
    CHECK(s.at(0).session_count() == 0);
    CHECK(s.at(1).session_count() == 1);
    CHECK(s.registry.find("dev")->location().state == core::slot_state::live);
    CHECK(s.registry.find("dev")->owner() == 1);
    // The subscription came along: a publish from shard 0 reaches the session on shard 1.
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));
    s.run_until_quiet(rng);
    CHECK(payloads(s.client(second)) == std::vector<std::string>{"pub:1"});
    CHECK(shard_problems(s) == "");
}

TEST_CASE("shard: messages routed before and after a move keep the publisher's order [MQTT-4.6.0-6]") {
    // The old bug: a delivery routed to the old shard just before the move could arrive after one routed
    // to the new shard just after it. Three shards: session on 0, publisher on 2, new connection on 1.
    shard_scheduler s{3};
    intake_log log;
    for (std::size_t i = 0; i < 3; ++i) s.at(i).set_observer(&log);
    const auto dev = s.connect(0, params("dev", false));
    s.send(dev, subscribe(1, "t", qos::at_least_once));
    const auto pub = s.connect(2, params("pub", true));

    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));  // on channel 2->0, not delivered yet
    const auto dev2 = s.connect(1, params("dev", false));          // connect_request on 1->0
    s.deliver(1, 0);  // shard 0 takes over: slot moving to 1, flush_requests to 1 and 2
    CHECK(s.registry.find("dev")->location().state == core::slot_state::moving);
    s.send(pub, publish("t", qos::at_least_once, 2, "pub:2"));  // routed to shard 1 now: parked there
    s.deliver(0, 1);  // flush_request -> shard 1 answers
    s.deliver(2, 0);  // pub:1 reaches shard 0 while the session is still there
    s.deliver(0, 2);  // flush_request -> shard 2 answers behind pub:1
    s.deliver(1, 0);  // flush_done from 1
    s.deliver(2, 1);  // pub:2 parked on shard 1 (the session is not there yet)
    CHECK_FALSE(s.client(dev2).is_attached);
    s.deliver(2, 0);  // flush_done from 2: the session leaves shard 0
    CHECK(s.at(0).session_count() == 0);
    s.deliver(0, 1);  // it arrives on shard 1, attaches, then pub:2 is replayed
    CHECK(s.in_flight() == 0);
    REQUIRE(s.client(dev2).is_attached);
    CHECK(log.taken["dev"] == std::vector<std::string>{"pub:1", "pub:2"});
    CHECK(payloads(s.client(dev2)) == std::vector<std::string>{"pub:1", "pub:2"});
    check_clean(s, log);
}

TEST_CASE("shard: of two connections racing for one session, the newer keeps it [MQTT-3.1.4-2]") {
    for (unsigned seed = 0; seed < 50; ++seed) {
        CAPTURE(seed);
        shard_scheduler s{3};
        std::mt19937 rng{seed};
        const auto first = s.connect(0, params("dev", false));
        const auto older = s.connect(1, params("dev", false));
        const auto newer = s.connect(2, params("dev", false));
        s.run_until_quiet(rng);
        CHECK_FALSE(s.client(first).is_open);
        CHECK_FALSE(s.client(older).is_open);  // served and taken over, or superseded before its CONNACK
        CHECK_FALSE(s.client(older).was_refused);
        CHECK(s.client(newer).is_open);
        CHECK(s.client(newer).is_attached);
        CHECK(s.client(newer).session_present);
        CHECK(owner_problem(s, "dev") == "");
        CHECK(s.registry.find("dev")->owner() == 2U);
        CHECK(shard_problems(s) == "");
    }
}

TEST_CASE("shard: a stale CONNECT from a connection older than the session's holder does not take it over") {
    // A device reconnects at once: its new connection (on shard 1) attaches first, then the CONNECT of its
    // old, already dead connection (on shard 0) reaches the owner. The live connection must stay.
    shard_scheduler s{2};
    std::mt19937 rng{5};
    s.connect(1, params("dev", false));
    const auto old_conn = s.connect(0, params("dev", false));  // request on 0->1, not delivered yet
    const auto new_conn = s.connect(1, params("dev", false));  // same shard as the session: served at once
    REQUIRE(s.client(new_conn).is_attached);
    s.run_until_quiet(rng);
    CHECK(s.client(new_conn).is_open);
    CHECK_FALSE(s.client(old_conn).is_open);
    CHECK_FALSE(s.client(old_conn).is_attached);
    CHECK(packets_of<protocol::connack>(s.client(old_conn)).empty());
    CHECK(s.at(1).stats().superseded == 1);
}

TEST_CASE("shard: a CONNECT that finds a clean session being discarded gets a fresh one, not CONNACK 3") {
    shard_scheduler s{2};
    std::mt19937 rng{7};
    const auto old_conn = s.connect(0, params("c", true));
    s.send(old_conn, subscribe(1, "t", qos::at_least_once));
    const auto new_conn = s.connect(1, params("c", false));  // found the slot; request on 1->0
    s.drop(old_conn);  // shard 0 discards the clean session while the request travels [MQTT-3.1.2-6]
    s.run_until_quiet(rng);
    REQUIRE(s.client(new_conn).is_attached);
    CHECK_FALSE(s.client(new_conn).was_refused);
    CHECK_FALSE(s.client(new_conn).session_present);
    CHECK(s.routes.subscription_count() == 0);  // the old incarnation's subscription is gone
    CHECK(owner_problem(s, "c") == "");
    CHECK(shard_problems(s) == "");
}

TEST_CASE("shard: a message routed to a discarded session never reaches the one that replaced it [MQTT-3.1.2-6]") {
    shard_scheduler s{2};
    const auto old_conn = s.connect(0, params("c", true));
    s.send(old_conn, subscribe(1, "t", qos::at_least_once));
    const auto pub = s.connect(1, params("pub", true));
    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));  // routed to the old incarnation, on 1->0
    const auto new_conn = s.connect(0, params("c", false));       // same shard: takes over at once
    REQUIRE(s.client(new_conn).is_attached);
    CHECK_FALSE(s.client(new_conn).session_present);
    s.deliver(1, 0);
    CHECK(publishes_of(s.client(new_conn)).empty());
    CHECK(s.at(0).find_session(s.registry.find("c").get())->queued_count() == 0);
}

TEST_CASE("shard: a clean session ends with its connection and leaves the registry [MQTT-3.1.2-6]") {
    shard_scheduler s{2};
    const auto c = s.connect(1, params("c", true));
    s.send(c, subscribe(1, "t", qos::at_least_once));
    s.drop(c);
    CHECK(s.registry.find("c") == nullptr);
    CHECK(s.at(1).session_count() == 0);
    CHECK(s.routes.subscription_count() == 0);
}

TEST_CASE("shard: resuming with clean session 1 discards the old session [MQTT-3.1.2-6]") {
    shard_scheduler s{2};
    std::mt19937 rng{3};
    const auto first = s.connect(0, params("dev", false));
    s.send(first, subscribe(1, "t", qos::at_least_once));
    s.drop(first);
    const auto pub = s.connect(0, params("pub", true));
    s.send(pub, publish("t", qos::at_least_once, 1, "pub:1"));  // queued in the offline session
    const auto second = s.connect(1, params("dev", true));
    s.run_until_quiet(rng);
    REQUIRE(s.client(second).is_attached);
    CHECK_FALSE(s.client(second).session_present);
    CHECK(publishes_of(s.client(second)).empty());
    CHECK(s.routes.subscription_count() == 0);
}

TEST_CASE("shard: the will on takeover goes out unless a persistent session is resumed [MQTT-3.1.2-8]") {
    struct row {
        bool old_clean;
        bool new_clean;
        bool will_published;
    };
    for (const auto r : {row{false, false, false}, row{true, false, true}, row{false, true, true}, row{true, true, true}}) {
        CAPTURE(r.old_clean);
        CAPTURE(r.new_clean);
        for (const std::size_t new_shard : {0, 1}) {
            CAPTURE(new_shard);
            shard_scheduler s{2};
            std::mt19937 rng{11};
            const auto watcher = s.connect(0, params("watcher", true));
            s.send(watcher, subscribe(1, "wills/dev", qos::at_least_once));
            const auto will = core::make_message("wills/dev", bytes("gone"), qos::at_least_once, false);
            s.connect(0, params("dev", r.old_clean, will));
            const auto second = s.connect(new_shard, params("dev", r.new_clean));
            s.run_until_quiet(rng);
            CHECK(s.client(second).is_attached);
            CHECK(payloads(s.client(watcher)).size() == (r.will_published ? 1U : 0U));
        }
    }
}

TEST_CASE("shard: PUBACK and PUBREC leave before the message reaches any subscriber, the publisher included") {
    for (const auto q : {qos::at_least_once, qos::exactly_once}) {
        CAPTURE(static_cast<int>(q));
        shard_scheduler s{1};
        const auto c = s.connect(0, params("self", true));
        s.send(c, subscribe(1, "echo", q));
        s.send(c, publish("echo", q, 7, "self:1"));
        const auto& got = s.client(c).received;
        std::size_t ack_at = got.size();
        std::size_t publish_at = got.size();
        for (std::size_t i = 0; i < got.size(); ++i) {
            if (const auto* p = std::get_if<core::send_packet>(&got[i])) {
                if (std::holds_alternative<protocol::puback>(p->packet) ||
                    std::holds_alternative<protocol::pubrec>(p->packet))
                    ack_at = std::min(ack_at, i);
            } else if (std::holds_alternative<core::send_publish>(got[i])) {
                publish_at = std::min(publish_at, i);
            }
        }
        REQUIRE(publish_at < got.size());
        CHECK(ack_at < publish_at);  // [MQTT-4.3.2-2] [MQTT-4.3.3-2] acknowledged, then forwarded
    }
}

TEST_CASE("shard: SUBACK comes before the retained messages it found [MQTT-3.8.4-3] [MQTT-3.3.1-6]") {
    shard_scheduler s{1};
    const auto pub = s.connect(0, params("pub", true));
    auto retained = publish("r/1", qos::at_least_once, 1, "pub:1");
    retained.retain = true;
    s.send(pub, retained);
    const auto c = s.connect(0, params("sub", true));
    s.send(c, subscribe(9, "r/#", qos::exactly_once));
    const auto& got = s.client(c).received;
    REQUIRE(got.size() == 4);  // attached, CONNACK, SUBACK, PUBLISH
    CHECK(std::holds_alternative<protocol::suback>(std::get<core::send_packet>(got[2]).packet));
    const auto& p = std::get<core::send_publish>(got[3]);
    CHECK(p.retain);  // [MQTT-3.3.1-8]
    CHECK(p.qos_level == qos::at_least_once);
}

TEST_CASE("shard: a protocol violation closes that connection only and names what was wrong") {
    shard_scheduler s{1};
    const auto bad = s.connect(0, params("bad", true));
    const auto good = s.connect(0, params("good", true));
    s.send(bad, protocol::connect{});  // [MQTT-3.1.0-2] a second CONNECT
    CHECK_FALSE(s.client(bad).is_open);
    const auto& last = s.client(bad).received.back();
    REQUIRE(std::holds_alternative<core::close_connection>(last));
    CHECK(std::get<core::close_connection>(last).reason == core::close_reason::protocol_error);
    CHECK(std::string{std::get<core::close_connection>(last).detail} == "second CONNECT");
    CHECK(s.client(good).is_open);
    CHECK(s.registry.find("bad") == nullptr);
}

TEST_CASE("shard: an offline persistent session is discarded once session_expiry has passed") {
    shard_scheduler s{2, core::shard_options{{}, std::chrono::seconds{60}}};
    std::mt19937 rng{1};
    const auto first = s.connect(0, params("dev", false));
    s.send(first, subscribe(1, "t", qos::at_least_once));
    s.drop(first);
    s.advance(std::chrono::seconds{59});
    CHECK(s.registry.find("dev") != nullptr);
    // A reconnect before the deadline keeps it, and going offline again starts a new period.
    const auto second = s.connect(1, params("dev", false));
    s.run_until_quiet(rng);
    CHECK(s.client(second).session_present);
    s.advance(std::chrono::seconds{30});
    s.drop(second);
    s.advance(std::chrono::seconds{59});
    CHECK(s.registry.find("dev") != nullptr);
    s.advance(std::chrono::seconds{1});
    CHECK(s.registry.find("dev") == nullptr);
    CHECK(s.routes.subscription_count() == 0);
    CHECK(s.at(1).stats().sessions_expired == 1);
    const auto third = s.connect(0, params("dev", false));
    CHECK_FALSE(s.client(third).session_present);
}

TEST_CASE("shard: session_expiry 0 keeps offline sessions for ever") {
    shard_scheduler s{1};
    const auto c = s.connect(0, params("dev", false));
    s.drop(c);
    s.advance(std::chrono::hours{24 * 365});
    CHECK(s.registry.find("dev") != nullptr);
}

TEST_CASE("effects_stack: a lease given back by an exception leaves the depth right") {
    core::effects_stack stack;
    try {
        const core::effects_stack::lease outer{stack};
        const core::effects_stack::lease inner{stack};
        CHECK(stack.depth() == 2);
        throw std::runtime_error{"boom"};
    } catch (const std::runtime_error&) {
    }
    CHECK(stack.depth() == 0);
    const core::effects_stack::lease again{stack};
    CHECK(stack.depth() == 1);
}

namespace {

// A stand-in for the ACL file: topics under "secret/" are off limits to everyone but "admin"; "ro/" may be
// read by anyone and written by nobody.
class test_rules final : public core::access_rules {
public:
    bool may_publish(const core::client_identity& who, std::string_view topic) const override {
        return is_admin(who) || (!topic.starts_with("secret/") && !topic.starts_with("ro/"));
    }
    bool may_subscribe(const core::client_identity& who, std::string_view filter) const override {
        return is_admin(who) || !filter.starts_with("secret/");
    }
    bool may_receive(const core::client_identity& who, std::string_view topic) const override {
        return is_admin(who) || !topic.starts_with("secret/");
    }

private:
    static bool is_admin(const core::client_identity& who) { return who.username == "admin"; }
};

core::connection_params user(std::string id, std::optional<std::string> username,
                             core::message_ptr will = nullptr) {
    auto p = params(std::move(id), true, std::move(will));
    p.username = std::move(username);
    return p;
}

}  // namespace

TEST_CASE("shard ACL: a denied SUBSCRIBE filter gets 0x80 alone; a denied PUBLISH is acknowledged and dropped") {
    core::access_rules_source access;
    access.publish(std::make_shared<test_rules>());
    shard_scheduler s{1, core::shard_options{{}, {}, &access}};
    const auto c = s.connect(0, user("c", "bob"));
    s.send(c, protocol::subscribe{3, {{"secret/#", qos::at_least_once}, {"open/#", qos::at_least_once}}});
    const auto acks = packets_of<protocol::suback>(s.client(c));
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].return_codes == std::vector<std::uint8_t>{0x80, 1});  // [MQTT-3.9.3-2]
    const auto admin = s.connect(0, user("a", "admin"));
    s.send(admin, subscribe(1, "#", qos::at_least_once));
    s.send(c, publish("ro/x", qos::at_least_once, 5, "bob:1"));
    CHECK(packets_of<protocol::puback>(s.client(c)).size() == 1);  // acknowledged at its QoS [MQTT-4.3.2-2]
    CHECK(publishes_of(s.client(admin)).empty());                   // and dropped
    CHECK(s.at(0).stats().publishes_denied == 1);
}

TEST_CASE("shard ACL: messages are checked per delivery, so an allowed filter delivers only readable topics") {
    core::access_rules_source access;
    access.publish(std::make_shared<test_rules>());
    shard_scheduler s{1, core::shard_options{{}, {}, &access}};
    const auto c = s.connect(0, user("c", "bob"));
    s.send(c, subscribe(1, "#", qos::at_least_once));
    const auto admin = s.connect(0, user("a", "admin"));
    s.send(admin, publish("secret/plan", qos::at_least_once, 1, "admin:1"));
    s.send(admin, publish("open/news", qos::at_least_once, 2, "admin:2"));
    CHECK(payloads(s.client(c)) == std::vector<std::string>{"admin:2"});
    // Retained messages obey the same rule on subscribe.
    auto retained = publish("secret/kept", qos::at_least_once, 3, "admin:3");
    retained.retain = true;
    s.send(admin, retained);
    const auto later = s.connect(0, user("later", "bob"));
    s.send(later, subscribe(1, "secret/kept", qos::at_least_once));  // refused as a filter anyway
    s.send(later, subscribe(2, "+/kept", qos::at_least_once));       // allowed filter, unreadable topic
    CHECK(publishes_of(s.client(later)).empty());
}

TEST_CASE("shard ACL: a will the client may not publish is refused at CONNECT with 0x05") {
    core::access_rules_source access;
    access.publish(std::make_shared<test_rules>());
    shard_scheduler s{1, core::shard_options{{}, {}, &access}};
    const auto will = core::make_message("secret/will", bytes("gone"), qos::at_most_once, false);
    const auto c = s.connect(0, user("c", "bob", will));
    CHECK(s.client(c).was_refused);
    CHECK(s.registry.find("c") == nullptr);
}

TEST_CASE("shard ACL: new rules apply to the next PUBLISH of a client already connected") {
    core::access_rules_source access;
    shard_scheduler s{1, core::shard_options{{}, {}, &access}};
    const auto c = s.connect(0, user("c", "bob"));
    s.send(c, subscribe(1, "#", qos::at_least_once));
    s.send(c, publish("secret/a", qos::at_least_once, 1, "bob:1"));
    access.publish(std::make_shared<test_rules>());  // a reload
    s.send(c, publish("secret/b", qos::at_least_once, 2, "bob:2"));
    CHECK(payloads(s.client(c)) == std::vector<std::string>{"bob:1"});
}
