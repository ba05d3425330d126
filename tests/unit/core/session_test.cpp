#include "broker/core/session.hpp"

#include <doctest/doctest.h>

using namespace mqttd::core;
namespace protocol = mqttd::protocol;
using protocol::qos;

namespace {

const time_point t0{std::chrono::seconds{1000}};

protocol::bytes_view bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

connection_params persistent(std::string id = "c1", std::uint16_t keep_alive = 0) {
    connection_params p;
    p.client_id = std::move(id);
    p.clean_session = false;
    p.keep_alive = keep_alive;
    return p;
}

template <class T>
std::vector<T> all_of(const effects& fx) {
    std::vector<T> out;
    for (const auto& e : fx)
        if (const auto* v = std::get_if<T>(&e)) out.push_back(*v);
    return out;
}

// Control packets of type P in the effects: sent alone, or as the acknowledgement a route carries.
template <class P>
std::vector<P> packets(const effects& fx) {
    std::vector<P> out;
    for (const auto& e : fx) {
        if (const auto* s = std::get_if<send_packet>(&e)) {
            if (const auto* p = std::get_if<P>(&s->packet)) out.push_back(*p);
        } else if (const auto* r = std::get_if<route>(&e); r != nullptr && r->ack) {
            if (const auto* p = std::get_if<P>(&*r->ack)) out.push_back(*p);
        }
    }
    return out;
}

// A session already attached to a client, its CONNACK consumed.
struct online_session {
    explicit online_session(session_limits limits = {}, connection_params params = persistent()) : s{"c1", limits} {
        s.attach(std::move(params), false, t0, fx);
        fx.clear();
    }
    session s;
    effects fx;
};

message_ptr msg(std::string_view topic, qos q, std::string_view payload = "p") {
    return make_message(topic, bytes(payload), q, false);
}

}  // namespace

TEST_CASE("session: attach answers CONNACK with the session-present flag [MQTT-3.2.2-2] [MQTT-3.2.2-1]") {
    session s{"c1", {}};
    effects fx;
    s.attach(persistent(), true, t0, fx);
    const auto acks = packets<protocol::connack>(fx);
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].session_present);
    CHECK(acks[0].code == protocol::connack_code::accepted);
    CHECK(s.is_online());
}

TEST_CASE("session: QoS 1 PUBLISH is routed and acknowledged with its id [MQTT-4.3.2-2]") {
    online_session o;
    o.s.on_packet(protocol::publish{false, qos::at_least_once, false, "a/b", 9, bytes("x")}, t0, o.fx);
    const auto routes = all_of<route>(o.fx);
    REQUIRE(routes.size() == 1);
    CHECK(routes[0].msg->topic() == "a/b");
    CHECK(routes[0].msg->qos_level() == qos::at_least_once);
    REQUIRE(packets<protocol::puback>(o.fx).size() == 1);
    CHECK(packets<protocol::puback>(o.fx)[0].id == 9);
}

TEST_CASE("session: a re-sent QoS 2 PUBLISH before PUBREL is not routed twice [MQTT-4.3.3-2]") {
    online_session o;
    const protocol::publish p{false, qos::exactly_once, false, "a", 7, bytes("x")};
    o.s.on_packet(p, t0, o.fx);
    auto dup = p;
    dup.dup = true;
    o.s.on_packet(dup, t0, o.fx);
    CHECK(all_of<route>(o.fx).size() == 1);
    CHECK(packets<protocol::pubrec>(o.fx).size() == 2);
    o.fx.clear();
    o.s.on_packet(protocol::pubrel{7}, t0, o.fx);
    REQUIRE(packets<protocol::pubcomp>(o.fx).size() == 1);
    CHECK(packets<protocol::pubcomp>(o.fx)[0].id == 7);
    o.fx.clear();
    // After PUBREL the id is free: a new PUBLISH with it is a new message.
    o.s.on_packet(p, t0, o.fx);
    CHECK(all_of<route>(o.fx).size() == 1);
}

TEST_CASE("session: QoS 2 exactly-once survives a reconnect between PUBREC and PUBREL [MQTT-4.3.3-2]") {
    online_session o;
    const protocol::publish p{false, qos::exactly_once, false, "a", 7, bytes("x")};
    o.s.on_packet(p, t0, o.fx);
    o.s.detach(close_reason::network_error, o.fx);
    o.fx.clear();
    o.s.attach(persistent(), true, t0, o.fx);
    auto dup = p;
    dup.dup = true;
    o.s.on_packet(dup, t0, o.fx);
    CHECK(all_of<route>(o.fx).empty());
    CHECK(packets<protocol::pubrec>(o.fx).size() == 1);
}

TEST_CASE("session: the in-flight window holds max_inflight messages, the rest wait in order") {
    online_session o{{2, 10}};
    for (int i = 0; i < 3; ++i) o.s.on_deliver(msg("t", qos::at_least_once, std::to_string(i)), qos::at_least_once, false, o.fx);
    auto sent = all_of<send_publish>(o.fx);
    REQUIRE(sent.size() == 2);
    CHECK(o.s.queued_count() == 1);
    o.fx.clear();
    o.s.on_packet(protocol::puback{sent[0].id}, t0, o.fx);
    sent = all_of<send_publish>(o.fx);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].msg->payload()[0] == '2');
    CHECK(o.s.queued_count() == 0);
}

TEST_CASE("session: delivery QoS is the lesser of published and granted [MQTT-3.8.4-6]; retain 0 when routed [MQTT-3.3.1-9]") {
    online_session o;
    o.s.on_deliver(make_message("t", bytes("x"), qos::exactly_once, true), qos::at_least_once, false, o.fx);
    o.s.on_deliver(msg("t", qos::at_most_once), qos::exactly_once, false, o.fx);
    const auto sent = all_of<send_publish>(o.fx);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].qos_level == qos::at_least_once);
    CHECK_FALSE(sent[0].retain);
    CHECK(sent[0].id != 0);
    CHECK(sent[1].qos_level == qos::at_most_once);
    CHECK(sent[1].id == 0);
}

TEST_CASE("session: retained delivery on subscribe carries retain 1 [MQTT-3.3.1-8]") {
    online_session o;
    o.s.on_deliver(make_message("t", bytes("x"), qos::at_most_once, true), qos::at_most_once, true, o.fx);
    const auto sent = all_of<send_publish>(o.fx);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].retain);
}

TEST_CASE("session: offline QoS 1/2 messages queue, QoS 0 does not, and all go out in order on reconnect") {
    online_session o;
    o.s.detach(close_reason::network_error, o.fx);
    o.fx.clear();
    o.s.on_deliver(msg("t", qos::at_least_once, "1"), qos::exactly_once, false, o.fx);
    o.s.on_deliver(msg("t", qos::at_most_once, "x"), qos::exactly_once, false, o.fx);
    o.s.on_deliver(msg("t", qos::exactly_once, "2"), qos::exactly_once, false, o.fx);
    const auto drops = all_of<message_dropped>(o.fx);
    REQUIRE(drops.size() == 1);  // only the QoS 0 one, and counted
    CHECK(drops[0].reason == drop_reason::offline_qos0);
    CHECK(all_of<send_publish>(o.fx).empty());
    CHECK(o.s.queued_count() == 2);
    o.fx.clear();
    o.s.attach(persistent(), true, t0, o.fx);
    REQUIRE(std::holds_alternative<send_packet>(o.fx.at(0)));  // CONNACK first
    const auto sent = all_of<send_publish>(o.fx);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].msg->payload()[0] == '1');
    CHECK(sent[0].qos_level == qos::at_least_once);
    CHECK(sent[1].msg->payload()[0] == '2');
    CHECK(sent[1].qos_level == qos::exactly_once);
}

TEST_CASE("session: past max_queued_messages a message is dropped and counted") {
    online_session o{{20, 2}};
    o.s.detach(close_reason::network_error, o.fx);
    o.fx.clear();
    for (int i = 0; i < 3; ++i) o.s.on_deliver(msg("t", qos::at_least_once), qos::at_least_once, false, o.fx);
    CHECK(o.s.queued_count() == 2);
    CHECK(o.s.dropped_count() == 1);
    const auto drops = all_of<message_dropped>(o.fx);
    REQUIRE(drops.size() == 1);
    CHECK(drops[0].dropped_total == 1);
}

TEST_CASE("session: reconnect resends unacknowledged PUBLISH with DUP and PUBREL, in order [MQTT-4.4.0-1]") {
    online_session o;
    o.s.on_deliver(msg("t", qos::exactly_once, "a"), qos::exactly_once, false, o.fx);
    o.s.on_deliver(msg("t", qos::at_least_once, "b"), qos::exactly_once, false, o.fx);
    const auto first = all_of<send_publish>(o.fx);
    REQUIRE(first.size() == 2);
    o.fx.clear();
    o.s.on_packet(protocol::pubrec{first[0].id}, t0, o.fx);
    REQUIRE(packets<protocol::pubrel>(o.fx).size() == 1);
    o.s.detach(close_reason::network_error, o.fx);
    o.fx.clear();
    o.s.attach(persistent(), true, t0, o.fx);
    REQUIRE(o.fx.size() == 3);
    const auto* rel = std::get_if<send_packet>(&o.fx[1]);
    REQUIRE(rel != nullptr);
    REQUIRE(std::holds_alternative<protocol::pubrel>(rel->packet));
    CHECK(std::get<protocol::pubrel>(rel->packet).id == first[0].id);
    const auto* again = std::get_if<send_publish>(&o.fx[2]);
    REQUIRE(again != nullptr);
    CHECK(again->id == first[1].id);
    CHECK(again->dup);  // [MQTT-3.3.1-1]
    o.fx.clear();
    o.s.on_packet(protocol::pubcomp{first[0].id}, t0, o.fx);
    o.s.on_packet(protocol::puback{first[1].id}, t0, o.fx);
    CHECK(o.s.inflight_count() == 0);
}

TEST_CASE("session: keepalive closes after 1.5 x keepalive without a packet [MQTT-3.1.2-24]") {
    online_session o{{}, persistent("c1", 10)};
    o.s.on_tick(t0 + std::chrono::milliseconds{14'999}, o.fx);
    CHECK(o.fx.empty());
    o.s.on_packet(protocol::pingreq{}, t0 + std::chrono::seconds{10}, o.fx);
    REQUIRE(packets<protocol::pingresp>(o.fx).size() == 1);  // [MQTT-3.12.4-1]
    o.fx.clear();
    o.s.on_tick(t0 + std::chrono::seconds{24}, o.fx);
    CHECK(o.fx.empty());
    o.s.on_tick(t0 + std::chrono::seconds{25}, o.fx);
    const auto closes = all_of<close_connection>(o.fx);
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].reason == close_reason::keepalive_timeout);
}

TEST_CASE("session: keepalive 0 never times out [MQTT-3.1.2-10]") {
    online_session o;
    o.s.on_tick(t0 + std::chrono::hours{1000}, o.fx);
    CHECK(o.fx.empty());
}

TEST_CASE("session: the will is published on network error but not after DISCONNECT [MQTT-3.1.2-8] [MQTT-3.1.2-10]") {
    auto params = persistent();
    params.will = make_message("will/t", bytes("gone"), qos::at_least_once, true);
    SUBCASE("network error") {
        online_session o{{}, params};
        o.s.detach(close_reason::network_error, o.fx);
        const auto routes = all_of<route>(o.fx);
        REQUIRE(routes.size() == 1);
        CHECK(routes[0].msg->topic() == "will/t");
        CHECK(routes[0].msg->is_retained());
        CHECK(routes[0].msg->qos_level() == qos::at_least_once);
    }
    SUBCASE("keepalive timeout and takeover publish it too") {
        for (const auto why : {close_reason::keepalive_timeout, close_reason::session_taken_over,
                               close_reason::protocol_error}) {
            online_session o{{}, params};
            o.s.detach(why, o.fx);
            CHECK(all_of<route>(o.fx).size() == 1);
        }
    }
    SUBCASE("DISCONNECT discards it [MQTT-3.14.4-3]") {
        online_session o{{}, params};
        o.s.on_packet(protocol::disconnect{}, t0, o.fx);
        const auto closes = all_of<close_connection>(o.fx);
        REQUIRE(closes.size() == 1);
        CHECK(closes[0].reason == close_reason::client_disconnect);
        o.fx.clear();
        o.s.detach(close_reason::client_disconnect, o.fx);
        CHECK(all_of<route>(o.fx).empty());
    }
}

TEST_CASE("session: a second CONNECT is a protocol violation [MQTT-3.1.0-2]") {
    online_session o;
    o.s.on_packet(protocol::connect{}, t0, o.fx);
    const auto closes = all_of<close_connection>(o.fx);
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].reason == close_reason::protocol_error);
}

TEST_CASE("session: SUBSCRIBE adds filters, SUBACK echoes id and QoS in order, then retained [MQTT-3.8.4-1] [MQTT-3.9.3-1]") {
    online_session o;
    protocol::subscribe sub{5, {{"a/#", qos::exactly_once}, {"b", qos::at_most_once}}};
    o.s.on_packet(sub, t0, o.fx);
    REQUIRE(o.fx.size() == 4);
    CHECK(std::get<add_subscription>(o.fx[0]).filter == "a/#");
    CHECK(std::get<add_subscription>(o.fx[1]).granted == qos::at_most_once);
    const auto& ack = std::get<protocol::suback>(std::get<send_packet>(o.fx[2]).packet);
    CHECK(ack.id == 5);
    CHECK(ack.return_codes == std::vector<std::uint8_t>{2, 0});
    CHECK(std::holds_alternative<deliver_retained>(o.fx[3]));  // [MQTT-3.3.1-6] after the SUBACK
    CHECK(o.s.subscriptions().size() == 2);
}

TEST_CASE("session: UNSUBSCRIBE removes and always answers UNSUBACK [MQTT-3.10.4-4] [MQTT-3.10.4-5]") {
    online_session o;
    o.s.on_packet(protocol::subscribe{1, {{"a", qos::at_most_once}}}, t0, o.fx);
    o.fx.clear();
    o.s.on_packet(protocol::unsubscribe{2, {"a", "never"}}, t0, o.fx);
    REQUIRE(all_of<remove_subscription>(o.fx).size() == 1);
    REQUIRE(packets<protocol::unsuback>(o.fx).size() == 1);
    CHECK(packets<protocol::unsuback>(o.fx)[0].id == 2);
    CHECK(o.s.subscriptions().empty());
}

TEST_CASE("check_client_id: zero-length ids need clean session [MQTT-3.1.3-8]; MQTT 3.1 caps at 23") {
    protocol::connect c;
    c.client_id = "";
    c.clean_session = true;
    CHECK_FALSE(check_client_id(c));
    c.clean_session = false;
    CHECK(check_client_id(c) == protocol::connack_code::identifier_rejected);
    c.version = protocol::protocol_version::v3_1;
    c.clean_session = true;
    c.client_id = "123456789012345678901234";
    CHECK(check_client_id(c) == protocol::connack_code::identifier_rejected);
    c.client_id = "12345678901234567890123";
    CHECK_FALSE(check_client_id(c));
}

TEST_CASE("session: MQTT 3.1 has no session-present flag: CONNACK's first byte stays 0 on resume") {
    // MQTT 3.1, section 3.2: the first byte of the CONNACK variable header is reserved (unused).
    auto params = persistent();
    params.version = protocol::protocol_version::v3_1;
    session s{"c1", {}};
    effects fx;
    s.attach(params, true, t0, fx);
    const auto acks = packets<protocol::connack>(fx);
    REQUIRE(acks.size() == 1);
    CHECK_FALSE(acks[0].session_present);
}

TEST_CASE("session: PUBACK and PUBREC travel with the routed message, which sends them first [MQTT-4.3.2-2] [MQTT-4.3.3-2]") {
    for (const auto q : {qos::at_least_once, qos::exactly_once}) {
        online_session o;
        o.s.on_packet(protocol::publish{false, q, false, "a", 3, bytes("x")}, t0, o.fx);
        REQUIRE(o.fx.size() == 1);
        const auto& r = std::get<route>(o.fx[0]);
        REQUIRE(r.ack.has_value());
        CHECK(protocol::type_of(*r.ack) == (q == qos::at_least_once ? protocol::packet_type::puback : protocol::packet_type::pubrec));
    }
}

TEST_CASE("session: an acknowledgement that does not fit its flow is a protocol violation [MQTT-4.3.2-1] [MQTT-4.3.3-1]") {
    struct row {
        const char* name;
        qos sent;
        protocol::packet answer;
        const char* detail;
    };
    const std::vector<row> rows{
        {"PUBREC for QoS 1", qos::at_least_once, protocol::pubrec{1}, "PUBREC for a QoS 1 message"},
        {"PUBCOMP for QoS 1", qos::at_least_once, protocol::pubcomp{1}, "PUBCOMP for a QoS 1 message"},
        {"PUBACK for QoS 2", qos::exactly_once, protocol::puback{1}, "PUBACK for a QoS 2 message"},
        {"PUBCOMP before PUBREC", qos::exactly_once, protocol::pubcomp{1}, "PUBCOMP before PUBREC"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        online_session o;
        o.s.on_deliver(msg("t", r.sent), r.sent, false, o.fx);
        REQUIRE(all_of<send_publish>(o.fx).at(0).id == 1);
        o.fx.clear();
        o.s.on_packet(r.answer, t0, o.fx);
        const auto closes = all_of<close_connection>(o.fx);
        REQUIRE(closes.size() == 1);
        CHECK(closes[0].reason == close_reason::protocol_error);
        CHECK(std::string{closes[0].detail} == r.detail);
    }
}

TEST_CASE("session: an acknowledgement for an unknown packet id is ignored, as Mosquitto does") {
    online_session o;
    for (const protocol::packet& p : {protocol::packet{protocol::puback{9}}, protocol::packet{protocol::pubrec{9}},
                                     protocol::packet{protocol::pubcomp{9}}})
        o.s.on_packet(p, t0, o.fx);
    CHECK(all_of<close_connection>(o.fx).empty());
}

TEST_CASE("session: a repeated PUBREC is answered with PUBREL again [MQTT-4.3.3-1]") {
    online_session o;
    o.s.on_deliver(msg("t", qos::exactly_once), qos::exactly_once, false, o.fx);
    o.fx.clear();
    o.s.on_packet(protocol::pubrec{1}, t0, o.fx);
    o.s.on_packet(protocol::pubrec{1}, t0, o.fx);
    CHECK(packets<protocol::pubrel>(o.fx).size() == 2);
    CHECK(all_of<close_connection>(o.fx).empty());
}

TEST_CASE("session: past max_queued_bytes a QoS 1/2 message is dropped and counted; one big message still fits") {
    online_session o{{20, 1000, 10}};  // 10 bytes of topic + payload
    o.s.detach(close_reason::network_error, o.fx);
    o.fx.clear();
    o.s.on_deliver(msg("t", qos::at_least_once, "0123456789abc"), qos::at_least_once, false, o.fx);  // 14 > 10
    CHECK(o.s.queued_count() == 1);  // an empty queue takes it anyway, so it is never stuck
    o.s.on_deliver(msg("t", qos::at_least_once, "x"), qos::at_least_once, false, o.fx);
    CHECK(o.s.queued_count() == 1);
    const auto drops = all_of<message_dropped>(o.fx);
    REQUIRE(drops.size() == 1);
    CHECK(drops[0].reason == drop_reason::queue_bytes_full);
    CHECK(o.s.queued_bytes() == 14);
}

TEST_CASE("session: while its connection is write-blocked, QoS 0 is dropped and QoS 1/2 waits, then flows in order") {
    online_session o;
    o.s.set_write_blocked(true, t0, o.fx);
    o.s.on_deliver(msg("t", qos::at_most_once, "a"), qos::at_most_once, false, o.fx);
    o.s.on_deliver(msg("t", qos::at_least_once, "b"), qos::at_least_once, false, o.fx);
    o.s.on_deliver(msg("t", qos::exactly_once, "c"), qos::exactly_once, false, o.fx);
    CHECK(all_of<send_publish>(o.fx).empty());
    const auto drops = all_of<message_dropped>(o.fx);
    REQUIRE(drops.size() == 1);
    CHECK(drops[0].reason == drop_reason::outbound_full);
    CHECK(o.s.queued_count() == 2);
    o.fx.clear();
    o.s.set_write_blocked(false, t0, o.fx);
    const auto sent = all_of<send_publish>(o.fx);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].msg->payload()[0] == 'b');
    CHECK(sent[1].msg->payload()[0] == 'c');
}

TEST_CASE("session: unblocking restarts the keepalive, since nothing was read meanwhile [MQTT-3.1.2-24]") {
    online_session o{{}, persistent("c1", 10)};
    o.s.set_write_blocked(true, t0, o.fx);
    o.s.set_write_blocked(false, t0 + std::chrono::seconds{60}, o.fx);
    o.s.on_tick(t0 + std::chrono::seconds{70}, o.fx);
    CHECK(all_of<close_connection>(o.fx).empty());
    o.s.on_tick(t0 + std::chrono::seconds{75}, o.fx);
    CHECK(all_of<close_connection>(o.fx).size() == 1);
}
