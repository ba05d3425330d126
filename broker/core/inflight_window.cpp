#include "broker/core/inflight_window.hpp"

#include <algorithm>
#include <bit>

namespace mqttd::core {

namespace {

constexpr std::size_t min_capacity = 4;  // ring slots; the index has twice as many

}  // namespace

std::size_t inflight_window::index_of(protocol::packet_id id) const noexcept {
    if (!s_ || s_->table.empty()) return 0;
    const auto mask = s_->table.size() - 1;
    // Ids are handed out in sequence, so they mostly land in their own slot: a probe is one or two looks.
    for (auto at = std::size_t{id} & mask;; at = (at + 1) & mask) {
        if (s_->table[at].id == id) return at;
        if (s_->table[at].id == 0) return s_->table.size();
    }
}

void inflight_window::index_put(protocol::packet_id id, std::uint64_t seq) {
    const auto mask = s_->table.size() - 1;
    auto at = std::size_t{id} & mask;
    while (s_->table[at].id != 0) at = (at + 1) & mask;
    s_->table[at] = {id, seq};
}

// Backward-shift deletion: later entries of the same probe run move up, so no tombstones pile up.
void inflight_window::index_remove(std::size_t at) noexcept {
    const auto mask = s_->table.size() - 1;
    auto hole = at;
    for (auto next = (hole + 1) & mask; s_->table[next].id != 0; next = (next + 1) & mask) {
        const auto home = std::size_t{s_->table[next].id} & mask;
        // Move it into the hole unless its home lies cyclically in (hole, next].
        const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
        if (stays) continue;
        s_->table[hole] = s_->table[next];
        hole = next;
    }
    s_->table[hole] = {};
}

// Copies the live entries, in order, into a ring of the given capacity and indexes them afresh. Runs when the
// ring is full of live entries (it doubles) or mostly holes (an old entry held the front while many after
// it were acknowledged), so its cost is spread over the adds that led to it.
void inflight_window::rebuild(std::size_t ring_capacity) {
    std::vector<ring_slot> ring(ring_capacity);
    std::uint64_t seq = 0;
    for (auto s = s_->head; s != s_->tail; ++s) {
        auto& slot = s_->ring[s & (s_->ring.size() - 1)];
        if (slot.is_live) ring[seq++] = std::move(slot);
    }
    s_->ring = std::move(ring);
    s_->head = 0;
    s_->tail = seq;
    s_->table.assign(std::bit_ceil(ring_capacity * 2), index_slot{});
    for (auto s = s_->head; s != s_->tail; ++s) index_put(s_->ring[s].entry.id, s);
}

void inflight_window::push(outbound_message entry) {
    if (!s_) s_ = std::make_unique<state>();
    const auto span = s_->tail - s_->head;
    if (span == s_->ring.size()) {
        // Full: grow when most slots are live, else squeeze the holes out.
        rebuild(size_ * 2 >= s_->ring.size() ? std::max(min_capacity, s_->ring.size() * 2) : s_->ring.size());
    }
    const auto id = entry.id;
    auto& slot = s_->ring[s_->tail & (s_->ring.size() - 1)];
    slot.entry = std::move(entry);
    slot.is_live = true;
    index_put(id, s_->tail);
    ++s_->tail;
    ++size_;
}

std::optional<protocol::packet_id> inflight_window::add(message_ptr msg, protocol::qos qos_level, bool retain,
                                                         share_ref share) {
    if (size_ >= 65535) return std::nullopt;
    if (!s_) s_ = std::make_unique<state>();
    // [MQTT-2.3.1-2] an identifier is reused only once its flow is complete; 0 is never used [MQTT-2.3.1-1].
    while (next_id_ == 0 || index_of(next_id_) != s_->table.size()) ++next_id_;
    const auto id = next_id_++;
    const auto state = qos_level == protocol::qos::exactly_once ? outbound_state::awaiting_pubrec
                                                                : outbound_state::awaiting_puback;
    const auto stored_id = msg->storage_id();
    push({id, state, qos_level, retain, std::move(msg), stored_id, std::move(share)});
    return id;
}

void inflight_window::restore(outbound_message entry) { push(std::move(entry)); }

outbound_message* inflight_window::find(protocol::packet_id id) noexcept {
    if (!s_) return nullptr;
    const auto at = index_of(id);
    if (at == s_->table.size()) return nullptr;
    return &s_->ring[s_->table[at].seq & (s_->ring.size() - 1)].entry;
}

void inflight_window::erase(protocol::packet_id id) noexcept {
    if (!s_) return;
    const auto at = index_of(id);
    if (at == s_->table.size()) return;
    auto& slot = s_->ring[s_->table[at].seq & (s_->ring.size() - 1)];
    slot.entry = outbound_message{};  // lets go of the message now
    slot.is_live = false;
    index_remove(at);
    --size_;
    while (s_->head != s_->tail && !s_->ring[s_->head & (s_->ring.size() - 1)].is_live) ++s_->head;
}

void inflight_window::clear() noexcept {
    s_.reset();
    size_ = 0;
}

}  // namespace mqttd::core
