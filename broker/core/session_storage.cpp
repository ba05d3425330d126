// A session's storage changes (README: "Durable storage"), and its restore at start-up. Only a stored session
// (clean session 0, storage on) emits them; the shard adds what belongs to routing (message bodies, other
// sessions' queue entries) and decides when a change is waited for.

#include "broker/core/session.hpp"

namespace mqttd::core {

using protocol::qos;

namespace {

outbound_state restored_state(storage::delivery_state s) noexcept {
    switch (s) {
    case storage::delivery_state::awaiting_pubrec: return outbound_state::awaiting_pubrec;
    case storage::delivery_state::awaiting_pubcomp: return outbound_state::awaiting_pubcomp;
    default: return outbound_state::awaiting_puback;
    }
}

}  // namespace

void session::store(storage::operation op, bool wait, effects& out) {
    if (!is_stored()) return;
    persist p;
    p.ops.push_back(std::move(op));
    p.wait = wait;
    out.push_back(std::move(p));
}

void session::store_entry(std::uint64_t stored_id, protocol::qos qos_level, bool retain, storage::delivery_state state,
                          protocol::packet_id id, bool wait, effects& out) {
    if (stored_id == 0) return;  // a message that reached this session at QoS 0 was never stored for it
    const storage::queue_entry entry{stored_id, static_cast<std::uint8_t>(qos_level), retain, state, id};
    store(storage::put_queue_entry{params_.client_id, entry}, wait, out);
}

void session::forget_entry(std::uint64_t stored_id, effects& out) {
    if (stored_id == 0) return;
    // Not waited for: should a crash undo it, the message is sent again, which QoS 1 allows and which, for
    // QoS 2, a PUBREL already stored turns into a harmless PUBREL again.
    store(storage::delete_queue_entry{params_.client_id, stored_id}, false, out);
}

storage::put_session session::stored_record() const {
    storage::put_session record{params_.client_id, {}};
    record.subscriptions.reserve(subscriptions_.size());
    for (const auto& [filter, granted] : subscriptions_)
        record.subscriptions.push_back({filter, static_cast<std::uint8_t>(granted)});
    return record;
}

void session::restore(const std::vector<storage::subscription_record>& subscriptions,
                      std::vector<restored_entry> queue, const std::vector<protocol::packet_id>& inbound_ids,
                      effects& out) {
    params_.clean_session = false;
    for (const auto& s : subscriptions) subscriptions_.insert_or_assign(s.filter, static_cast<qos>(s.qos));
    for (auto& r : queue) {
        const auto q = static_cast<qos>(r.entry.qos);
        if (r.entry.state == storage::delivery_state::queued) {
            if (!r.msg) continue;  // cannot happen: a queued entry keeps its body
            enqueue(r.msg, q, r.entry.retain, out);
        } else {
            // [MQTT-4.4.0-1] resent on the next connection with the same packet id, in this order.
            inflight_.restore({r.entry.packet_id, restored_state(r.entry.state), q, r.entry.retain, std::move(r.msg),
                               r.entry.message_id});
        }
    }
    for (const auto id : inbound_ids) awaiting_pubrel_.insert(id);
}

}  // namespace mqttd::core
