#include "broker/core/inflight_window.hpp"

#include <algorithm>

namespace mqttd::core {

bool inflight_window::is_in_use(protocol::packet_id id) const noexcept {
    return std::any_of(entries_.begin(), entries_.end(), [id](const auto& e) { return e.id == id; });
}

std::optional<protocol::packet_id> inflight_window::add(message_ptr msg, protocol::qos qos_level, bool retain,
                                                         share_ref share) {
    if (entries_.size() >= 65535) return std::nullopt;
    // [MQTT-2.3.1-2] an identifier is reused only once its flow is complete; 0 is never used [MQTT-2.3.1-1].
    while (next_id_ == 0 || is_in_use(next_id_)) ++next_id_;
    const auto id = next_id_++;
    const auto state = qos_level == protocol::qos::exactly_once ? outbound_state::awaiting_pubrec
                                                                : outbound_state::awaiting_puback;
    const auto stored_id = msg->storage_id();
    entries_.push_back({id, state, qos_level, retain, std::move(msg), stored_id, std::move(share)});
    return id;
}

outbound_message* inflight_window::find(protocol::packet_id id) noexcept {
    const auto it = std::find_if(entries_.begin(), entries_.end(), [id](const auto& e) { return e.id == id; });
    return it == entries_.end() ? nullptr : &*it;
}

void inflight_window::erase(protocol::packet_id id) noexcept {
    const auto it = std::find_if(entries_.begin(), entries_.end(), [id](const auto& e) { return e.id == id; });
    if (it != entries_.end()) entries_.erase(it);
}

}  // namespace mqttd::core
