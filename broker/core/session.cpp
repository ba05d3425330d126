#include "broker/core/session.hpp"

#include <algorithm>
#include <type_traits>

namespace mqttd::core {

using protocol::qos;

session::session(std::string client_id, session_limits limits)
    : limits_{limits}, inflight_{limits.max_inflight} {
    params_.client_id = std::move(client_id);  // the CONNECTs that attach bring the same id
}

void session::attach(connection_params params, bool session_present, time_point now, effects& out) {
    params_ = std::move(params);
    is_online_ = true;
    is_write_blocked_ = false;  // a new connection starts with nothing unsent
    deadline_ = params_.keep_alive == 0 ? time_point::max()
                                         : now + std::chrono::milliseconds{params_.keep_alive} * 1500;
    // A new persistent session is recorded (not waited for: its subscriptions are, when it makes them).
    if (!session_present) store(stored_record(), false, out);
    // MQTT 3.1 has no session-present flag: the first byte of its CONNACK variable header is reserved, 0.
    const bool has_session_present = params_.version != protocol::protocol_version::v3_1;
    out.push_back(send_packet{
        protocol::connack{session_present && has_session_present, protocol::connack_code::accepted}});
    // [MQTT-4.4.0-1] resend with the original packet ids, in the original order.
    inflight_.for_each([&out](const outbound_message& e) {
        if (e.state == outbound_state::awaiting_pubcomp) {
            out.push_back(send_packet{protocol::pubrel{e.id}});
        } else {
            out.push_back(send_publish{e.msg, e.qos_level, e.id, true, e.retain});
        }
    });
    drain_queue(out);
}

void session::detach(close_reason why, effects& out) {
    if (!is_online_) return;
    is_online_ = false;
    deadline_ = time_point::max();
    // [MQTT-3.1.2-8] the will goes out when the connection ends for any reason but DISCONNECT
    // [MQTT-3.1.2-10] (and broker shutdown: see the README's design notes).
    if (params_.will && why != close_reason::client_disconnect && why != close_reason::server_shutdown)
        out.push_back(route{params_.will, std::nullopt, 0});
    params_.will.reset();
}

void session::on_tick(time_point now, effects& out) {
    if (is_online_ && now >= deadline_) out.push_back(close_connection{close_reason::keepalive_timeout});
}

void session::protocol_violation(const char* what, effects& out) {
    out.push_back(close_connection{close_reason::protocol_error, what});
}

void session::on_packet(const protocol::packet& p, time_point now, effects& out, const access_rules* rules) {
    if (!is_online_) return;
    // [MQTT-3.1.2-24] any control packet from the client restarts the keepalive period.
    if (params_.keep_alive != 0) deadline_ = now + std::chrono::milliseconds{params_.keep_alive} * 1500;

    std::visit(
        [&](const auto& pkt) {
            using T = std::decay_t<decltype(pkt)>;
            if constexpr (std::is_same_v<T, protocol::publish>) {
                on_publish(pkt, out);
            } else if constexpr (std::is_same_v<T, protocol::puback>) {
                on_puback(pkt.id, out);
            } else if constexpr (std::is_same_v<T, protocol::pubrec>) {
                on_pubrec(pkt.id, out);
            } else if constexpr (std::is_same_v<T, protocol::pubrel>) {
                // [MQTT-4.3.3-2] release the id; PUBCOMP even for an id we no longer hold, so a client
                // that resends PUBREL after a reconnect can finish its flow. A stored id is deleted before
                // PUBCOMP goes: once the client has it, it may reuse the id for a new message.
                if (awaiting_pubrel_.erase(pkt.id)) store(storage::delete_inbound_id{params_.client_id, pkt.id}, true, out);
                out.push_back(send_packet{protocol::pubcomp{pkt.id}});
            } else if constexpr (std::is_same_v<T, protocol::pubcomp>) {
                on_pubcomp(pkt.id, out);
            } else if constexpr (std::is_same_v<T, protocol::subscribe>) {
                on_subscribe(pkt, rules, out);
            } else if constexpr (std::is_same_v<T, protocol::unsubscribe>) {
                on_unsubscribe(pkt, out);
            } else if constexpr (std::is_same_v<T, protocol::pingreq>) {
                out.push_back(send_packet{protocol::pingresp{}});  // [MQTT-3.12.4-1]
            } else if constexpr (std::is_same_v<T, protocol::disconnect>) {
                params_.will.reset();  // [MQTT-3.14.4-3]
                out.push_back(close_connection{close_reason::client_disconnect});
            } else {
                protocol_violation(std::is_same_v<T, protocol::connect> ? "second CONNECT"  // [MQTT-3.1.0-2]
                                                                         : "packet only a server sends",
                                   out);
            }
        },
        p);
}

void session::on_publish(const protocol::publish& p, effects& out) {
    // The acknowledgement travels with the message in one route effect, which sends it ahead of any copy of
    // the message (the publisher's own included) and, with storage that acknowledges only what is stored,
    // after the message is stored.
    auto msg = make_message(p.topic, p.payload, p.qos_level, p.retain);
    switch (p.qos_level) {
    case qos::at_most_once:
        out.push_back(route{std::move(msg), std::nullopt, 0});
        break;
    case qos::at_least_once:
        out.push_back(route{std::move(msg), protocol::packet{protocol::puback{p.id}}, 0});  // [MQTT-4.3.2-2]
        break;
    case qos::exactly_once:
        // [MQTT-4.3.3-2] method B: route on first receipt, remember the id until PUBREL (stored with the
        // message, so that a resend after a crash is still recognised).
        if (awaiting_pubrel_.insert(p.id)) {
            out.push_back(route{std::move(msg), protocol::packet{protocol::pubrec{p.id}}, is_stored() ? p.id : protocol::packet_id{0}});
        } else {
            out.push_back(send_packet{protocol::pubrec{p.id}});
        }
        break;
    }
}

void session::on_subscribe(const protocol::subscribe& p, const access_rules* rules, effects& out) {
    protocol::suback ack{p.id, {}};
    ack.return_codes.reserve(p.subscriptions.size());
    std::vector<std::pair<std::string, qos>> granted;
    for (const auto& s : p.subscriptions) {
        // A malformed `$share/GROUP/FILTER` fails alone, with 0x80, as MQTT 5 answers it (4.8.2).
        share_filter share;
        const auto syntax = parse_share_filter(s.filter, share);
        if (syntax == share_syntax::invalid) {
            ack.return_codes.push_back(protocol::suback_failure);
            continue;
        }
        // [MQTT-3.9.3-2] a filter the client may not read fails alone, with 0x80; the others stand. For a
        // shared subscription the ACL judges the FILTER part: that is what its messages are read by.
        const auto acl_filter = syntax == share_syntax::shared ? share.filter : std::string_view{s.filter};
        if (rules != nullptr && !rules->may_subscribe(identity(), acl_filter)) {
            ack.return_codes.push_back(protocol::suback_failure);
            out.push_back(subscribe_denied{std::string{s.filter}});
            continue;
        }
        // [MQTT-3.8.4-3] an identical filter replaces the existing subscription.
        subscriptions_.insert_or_assign(std::string{s.filter}, s.requested);
        granted.emplace_back(std::string{s.filter}, s.requested);
        ack.return_codes.push_back(static_cast<std::uint8_t>(s.requested));  // [MQTT-3.9.3-1] same order
    }
    // Stored before SUBACK, and before the subscriptions go live: every message stored for this session
    // afterwards finds its record, and one acknowledged to its publisher after this SUBACK reaches this
    // session even across a crash.
    if (!granted.empty()) store(stored_record(), true, out);
    for (auto& [filter, q] : granted) out.push_back(add_subscription{std::move(filter), q});
    out.push_back(send_packet{std::move(ack)});  // [MQTT-3.8.4-1] same packet id [MQTT-3.8.4-2]
    out.push_back(deliver_retained{});
}

void session::on_unsubscribe(const protocol::unsubscribe& p, effects& out) {
    bool removed = false;
    for (const auto filter : p.filters) {
        if (const auto it = subscriptions_.find(filter); it != subscriptions_.end()) {
            subscriptions_.erase(it);
            out.push_back(remove_subscription{std::string{filter}});
            removed = true;
        }
    }
    if (removed) store(stored_record(), true, out);
    out.push_back(send_packet{protocol::unsuback{p.id}});  // [MQTT-3.10.4-4], [MQTT-3.10.4-5]
}

// An acknowledgement for an id we do not hold is ignored (a client may repeat one after a reconnect, as
// Mosquitto tolerates); one that does not fit the flow its id is in is a protocol violation, as in
// Mosquitto: PUBACK answers only QoS 1 [MQTT-4.3.2-1], PUBREC and PUBCOMP only QoS 2, in that order
// [MQTT-4.3.3-1].
void session::on_puback(protocol::packet_id id, effects& out) {
    const auto* e = inflight_.find(id);
    if (e == nullptr) return;
    if (e->state != outbound_state::awaiting_puback) return protocol_violation("PUBACK for a QoS 2 message", out);
    forget_entry(e->stored_id, out);
    inflight_.erase(id);
    drain_queue(out);
}

void session::on_pubrec(protocol::packet_id id, effects& out) {
    auto* e = inflight_.find(id);
    if (e == nullptr) return;
    if (e->state == outbound_state::awaiting_puback) return protocol_violation("PUBREC for a QoS 1 message", out);
    // [MQTT-4.3.3-1] from here on the message is the client's; keep only the id. A repeated PUBREC (after
    // a reconnect) is answered with PUBREL again. The change is stored before PUBREL goes: after a crash the
    // PUBREL is resent, never the PUBLISH, which the client would take for a new message.
    if (e->state == outbound_state::awaiting_pubrec)
        store_entry(e->stored_id, qos::exactly_once, e->retain, storage::delivery_state::awaiting_pubcomp, id, true, out);
    e->state = outbound_state::awaiting_pubcomp;
    e->msg.reset();
    out.push_back(send_packet{protocol::pubrel{id}});
}

void session::on_pubcomp(protocol::packet_id id, effects& out) {
    const auto* e = inflight_.find(id);
    if (e == nullptr) return;
    if (e->state == outbound_state::awaiting_puback) return protocol_violation("PUBCOMP for a QoS 1 message", out);
    if (e->state == outbound_state::awaiting_pubrec) return protocol_violation("PUBCOMP before PUBREC", out);
    forget_entry(e->stored_id, out);
    inflight_.erase(id);
    drain_queue(out);
}

void session::on_deliver(const message_ptr& msg, qos granted, bool retained, effects& out, share_ref share) {
    // [MQTT-3.8.4-6] the lesser of the published and the granted QoS.
    const auto q = std::min(msg->qos_level(), granted);
    if (q == qos::at_most_once) {
        // QoS 0 is not queued for an offline client (as Mosquitto's default), nor for a client that does not
        // read what it was already sent.
        if (!is_online_) return drop(msg, q, drop_reason::offline_qos0, out);
        if (is_write_blocked_) return drop(msg, q, drop_reason::outbound_full, out);
        out.push_back(send_publish{msg, q, 0, false, retained});
        return;
    }
    // [MQTT-4.6.0-1..3] keep the order: while anything waits, new messages wait behind it.
    if (!is_online_ || is_write_blocked_ || inflight_.is_full() || !queue_.empty()) {
        enqueue(msg, q, retained, out, std::move(share));
        return;
    }
    send_new(msg, q, retained, out, std::move(share));
}

std::vector<session::unfinished_share> session::unfinished_shared() const {
    std::vector<unfinished_share> found;
    inflight_.for_each([&found](const outbound_message& e) {
        if (e.share && e.state != outbound_state::awaiting_pubcomp) found.push_back({e.msg, e.share});
    });
    queue_.for_each([&found](const queued_message& q) {
        if (q.share) found.push_back({q.msg, q.share});
    });
    return found;
}

void session::set_write_blocked(bool is_blocked, time_point now, effects& out) {
    is_write_blocked_ = is_blocked;
    if (is_blocked || !is_online_) return;
    // [MQTT-3.1.2-24] counts from the last packet the server could have read: none were, while blocked.
    if (params_.keep_alive != 0) deadline_ = std::max(deadline_, now + std::chrono::milliseconds{params_.keep_alive} * 1500);
    drain_queue(out);
}

void session::send_new(const message_ptr& msg, qos qos_level, bool retain, effects& out, share_ref share) {
    const auto id = inflight_.add(msg, qos_level, retain, share);
    if (!id) {
        enqueue(msg, qos_level, retain, out, std::move(share));
        return;
    }
    // A QoS 2 PUBLISH is resent after a crash with the same id, so the id is stored before it goes
    // [MQTT-4.4.0-1]: the client, holding that id, will not deliver it twice [MQTT-4.3.3-2].
    if (qos_level == qos::exactly_once)
        store_entry(msg->storage_id(), qos_level, retain, storage::delivery_state::awaiting_pubrec, *id, true, out);
    out.push_back(send_publish{msg, qos_level, *id, false, retain});
}

namespace {

std::size_t queued_size(const message& m) noexcept { return m.topic().size() + m.payload().size(); }

}  // namespace

void session::enqueue(const message_ptr& msg, qos qos_level, bool retain, effects& out, share_ref share) {
    const auto size = queued_size(*msg);
    const auto is_full = [&] {
        if (queue_.size() >= limits_.max_queued_messages) return true;
        // A message larger than the whole byte budget still fits an empty queue, so it is never stuck forever.
        return limits_.max_queued_bytes != 0 && !queue_.empty() && queued_bytes_ + size > limits_.max_queued_bytes;
    };
    const auto why = queue_.size() >= limits_.max_queued_messages ? drop_reason::queue_full : drop_reason::queue_bytes_full;
    if (limits_.overflow == queue_overflow::drop_oldest) {
        // The oldest queued messages make room; in-flight ones are the client's already and stay.
        while (is_full() && !queue_.empty()) {
            auto oldest = std::move(queue_.front());
            queue_.pop_front();
            queued_bytes_ -= queued_size(*oldest.msg);
            drop(oldest.msg, oldest.qos_level, why, out);
        }
    }
    if (is_full()) return drop(msg, qos_level, why, out);
    queue_.push_back({msg, qos_level, retain, std::move(share)});
    queued_bytes_ += size;
}

void session::drop(const message_ptr& msg, qos qos_level, drop_reason why, effects& out) {
    if (!dropped_) dropped_ = std::make_unique<std::array<std::uint64_t, drop_reason_count>>();
    const auto total = ++(*dropped_)[static_cast<std::size_t>(why)];
    out.push_back(message_dropped{std::string{msg->topic()}, why, total});
    if (qos_level != qos::at_most_once) forget_entry(msg->storage_id(), out);
}

std::uint64_t session::dropped_count() const noexcept {
    std::uint64_t n = 0;
    if (dropped_)
        for (const auto d : *dropped_) n += d;
    return n;
}

void session::drain_queue(effects& out) {
    while (is_online_ && !is_write_blocked_ && !queue_.empty() && !inflight_.is_full()) {
        auto next = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= queued_size(*next.msg);
        send_new(next.msg, next.qos_level, next.retain, out, std::move(next.share));
    }
}

std::optional<protocol::connack_code> check_client_id(const protocol::connect& c) noexcept {
    // [MQTT-3.1.3-8] a zero-length id needs clean session 1; the broker then assigns one [MQTT-3.1.3-6].
    if (c.client_id.empty() && !c.clean_session) return protocol::connack_code::identifier_rejected;
    // MQTT 3.1 limited client ids to 23 characters and had no zero-length ids.
    if (c.version == protocol::protocol_version::v3_1 && (c.client_id.empty() || c.client_id.size() > 23))
        return protocol::connack_code::identifier_rejected;
    return std::nullopt;
}

const char* to_string(drop_reason r) noexcept {
    switch (r) {
    case drop_reason::queue_full: return "queue_full";
    case drop_reason::queue_bytes_full: return "queue_bytes_full";
    case drop_reason::outbound_full: return "outbound_full";
    case drop_reason::offline_qos0: return "offline_qos0";
    }
    return "unknown";
}

const char* to_string(close_reason r) noexcept {
    switch (r) {
    case close_reason::client_disconnect: return "client_disconnect";
    case close_reason::network_error: return "network_error";
    case close_reason::protocol_error: return "protocol_error";
    case close_reason::keepalive_timeout: return "keepalive_timeout";
    case close_reason::connect_timeout: return "connect_timeout";
    case close_reason::session_taken_over: return "session_taken_over";
    case close_reason::server_shutdown: return "server_shutdown";
    case close_reason::connect_rejected: return "connect_rejected";
    case close_reason::write_timeout: return "write_timeout";
    case close_reason::storage_failed: return "storage_failed";
    case close_reason::kicked: return "kicked";
    }
    return "unknown";
}

}  // namespace mqttd::core
