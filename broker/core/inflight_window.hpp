#pragma once
// Outgoing QoS 1/2 messages awaiting acknowledgement, in the order they were first sent, and the packet
// identifiers they hold. Owned by one session; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "broker/core/message.hpp"
#include "broker/core/shared_subscription.hpp"
#include "protocol/packet.hpp"

namespace mqttd::core {

enum class outbound_state : std::uint8_t {
    awaiting_puback,   // QoS 1 PUBLISH sent
    awaiting_pubrec,   // QoS 2 PUBLISH sent
    awaiting_pubcomp,  // QoS 2 PUBREL sent; the message itself is no longer needed
};

struct outbound_message {
    protocol::packet_id id;
    outbound_state state;
    protocol::qos qos_level;
    bool retain;
    message_ptr msg;              // null once PUBREL is sent
    std::uint64_t stored_id = 0;  // the message's storage id (kept when msg is let go), 0 when not stored
    share_ref share = nullptr;    // the group it came through, if it came through one
};

class inflight_window {
public:
    explicit inflight_window(std::size_t max_inflight) : max_inflight_{max_inflight} {}

    bool is_full() const noexcept { return entries_.size() >= max_inflight_; }
    bool is_empty() const noexcept { return entries_.empty(); }
    std::size_t size() const noexcept { return entries_.size(); }

    // Records a new outgoing message under a fresh packet identifier; nullopt when all 65535 are in use.
    std::optional<protocol::packet_id> add(message_ptr msg, protocol::qos qos_level, bool retain, share_ref share = {});
    // Puts back an entry read from storage, with its packet identifier and state, after those restored so far.
    void restore(outbound_message entry) { entries_.push_back(std::move(entry)); }

    outbound_message* find(protocol::packet_id id) noexcept;
    void erase(protocol::packet_id id) noexcept;
    void clear() noexcept { entries_.clear(); }

    // In original send order, for the resend on reconnect [MQTT-4.4.0-1], [MQTT-4.6.0-1..4].
    const std::vector<outbound_message>& entries() const noexcept { return entries_; }

private:
    bool is_in_use(protocol::packet_id id) const noexcept;

    std::vector<outbound_message> entries_;
    std::size_t max_inflight_;
    protocol::packet_id next_id_ = 1;
};

}  // namespace mqttd::core
