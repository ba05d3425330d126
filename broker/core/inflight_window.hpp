#pragma once
// Outgoing QoS 1/2 messages awaiting acknowledgement, in the order they were first sent, and the packet
// identifiers they hold. Owned by one session; not thread-safe.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
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

// Every operation is O(1) (amortised), whatever max_inflight is: a window of 1,000 messages costs no more per
// acknowledgement than a window of 20. Entries sit in a ring in send order (acknowledged ones leave holes that
// the front skips), and an open-addressing table maps packet ids to their place. A window never used holds no
// memory (24 bytes inline, the ring and index behind one pointer); one that was keeps its (small) ring for the
// next message, as a vector keeps its capacity.
class inflight_window {
public:
    explicit inflight_window(std::size_t max_inflight)
        : max_inflight_{static_cast<std::uint32_t>(std::min<std::size_t>(max_inflight, UINT32_MAX))} {}

    bool is_full() const noexcept { return size_ >= max_inflight_; }
    bool is_empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    // Records a new outgoing message under a fresh packet identifier; nullopt when all 65535 are in use.
    std::optional<protocol::packet_id> add(message_ptr msg, protocol::qos qos_level, bool retain, share_ref share = {});
    // Puts back an entry read from storage, with its packet identifier and state, after those restored so far.
    void restore(outbound_message entry);

    outbound_message* find(protocol::packet_id id) noexcept;
    void erase(protocol::packet_id id) noexcept;
    void clear() noexcept;

    // In original send order, for the resend on reconnect [MQTT-4.4.0-1], [MQTT-4.6.0-1..4].
    template <class F>
    void for_each(F&& f) const {
        if (!s_) return;
        const auto& ring = s_->ring;
        for (auto seq = s_->head; seq != s_->tail; ++seq)
            if (const auto& slot = ring[seq & (ring.size() - 1)]; slot.is_live) f(slot.entry);
    }

private:
    struct ring_slot {
        outbound_message entry{};
        bool is_live = false;
    };
    struct index_slot {
        protocol::packet_id id = 0;  // 0: empty
        std::uint64_t seq = 0;
    };

    void push(outbound_message entry);
    std::size_t index_of(protocol::packet_id id) const noexcept;  // its index slot, or s_->table.size()
    void index_put(protocol::packet_id id, std::uint64_t seq);
    void index_remove(std::size_t at) noexcept;
    void rebuild(std::size_t ring_capacity);

    struct state {
        std::vector<ring_slot> ring;    // power-of-two size; entry seq lives at seq & (size - 1)
        std::uint64_t head = 0;         // seq of the oldest slot still in the ring
        std::uint64_t tail = 0;         // seq the next entry gets
        std::vector<index_slot> table;  // power-of-two size, at most half full; linear probing
    };

    std::unique_ptr<state> s_;  // allocated by the first add() or restore(); freed by clear()
    std::uint32_t size_ = 0;    // live entries
    std::uint32_t max_inflight_;
    protocol::packet_id next_id_ = 1;
};

}  // namespace mqttd::core
