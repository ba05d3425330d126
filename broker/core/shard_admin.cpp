// The admin API's read-only views of a shard's sessions and its two actions (kick, retained delete). Runs on
// the shard's own thread: the net layer posts these to the owning worker and carries the answer back.

#include "broker/core/shard.hpp"

#include "broker/logging/log.hpp"

namespace mqttd::core {

namespace {

session_view view_of(const session& s, connection_id conn) {
    session_view v;
    v.client_id = s.client_id();
    v.username = s.params().username;
    v.conn = conn;
    v.clean_session = s.is_clean();
    v.keep_alive = s.params().keep_alive;
    v.subscriptions.assign(s.subscriptions().begin(), s.subscriptions().end());
    v.inflight = s.inflight_count();
    v.queued = s.queued_count();
    v.queued_bytes = s.queued_bytes();
    return v;
}

}  // namespace

std::vector<session_view> shard::sessions() const {
    std::vector<session_view> out;
    out.reserve(sessions_.size());
    for (const auto& [slot, e] : sessions_) out.push_back(view_of(*e->state, e->conn));
    return out;
}

std::optional<session_view> shard::session_of(std::string_view client_id) const {
    const auto slot = registry_.find(client_id);
    if (!slot) return std::nullopt;
    const auto it = sessions_.find(slot.get());
    if (it == sessions_.end()) return std::nullopt;
    return view_of(*it->second->state, it->second->conn);
}

kick_result shard::kick(std::string_view client_id, bool discard_session, time_point now) {
    begin(now);
    const auto slot = registry_.find(client_id);
    if (!slot) return kick_result::not_found;
    auto* e = find(slot.get());
    if (e == nullptr) return kick_result::not_found;
    if (e->move) return kick_result::busy;
    const bool was_connected = e->conn != 0;
    const bool is_persistent = !e->state->is_clean();
    logging::log_line{logging::level::info} << "event=kick client_id=" << logging::quoted{slot->client_id}
                                            << " connected=" << was_connected << " discard=" << discard_session;
    // Not a DISCONNECT from the client: the will goes out [MQTT-3.1.2-8]. A clean session ends with its
    // connection [MQTT-3.1.2-6]; a persistent one stays unless asked to go.
    if (was_connected) session_ended(*e, close_reason::kicked, "kicked by the admin API", true);
    if (discard_session && is_persistent) {
        if (auto* still = find(slot.get())) discard(*still);
        return was_connected ? kick_result::kicked_and_discarded : kick_result::discarded;
    }
    return was_connected ? kick_result::kicked : kick_result::not_connected;
}

std::size_t shard::delete_retained(std::string_view filter, time_point now) {
    begin(now);
    std::vector<message_ptr> removed;
    router_.erase_retained(filter, removed);
    if (options_.storage != storage_mode::off && !removed.empty()) {
        std::vector<storage::operation> ops;
        for (const auto& msg : removed) ops.push_back(storage::delete_retained{std::string{msg->topic()}});
        submit(std::move(ops), nullptr);
    }
    return removed.size();
}

}  // namespace mqttd::core
