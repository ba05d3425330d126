#include "broker/core/inflight_window.hpp"

#include <algorithm>
#include <bit>

namespace mqttd::core {

namespace {

constexpr std::size_t min_capacity = 4;  // ring slots; the index has twice as many

}  // namespace

std::size_t inflight_window::index_of(protocol::packet_id id) const noexcept {
    if (table_.empty()) return 0;
    const auto mask = table_.size() - 1;
    // Ids are handed out in sequence, so they mostly land in their own slot: a probe is one or two looks.
    for (auto at = std::size_t{id} & mask;; at = (at + 1) & mask) {
        if (table_[at].id == id) return at;
        if (table_[at].id == 0) return table_.size();
    }
}

void inflight_window::index_put(protocol::packet_id id, std::uint64_t seq) {
    const auto mask = table_.size() - 1;
    auto at = std::size_t{id} & mask;
    while (table_[at].id != 0) at = (at + 1) & mask;
    table_[at] = {id, seq};
}

// Backward-shift deletion: later entries of the same probe run move up, so no tombstones pile up.
void inflight_window::index_remove(std::size_t at) noexcept {
    const auto mask = table_.size() - 1;
    auto hole = at;
    for (auto next = (hole + 1) & mask; table_[next].id != 0; next = (next + 1) & mask) {
        const auto home = std::size_t{table_[next].id} & mask;
        // Move it into the hole unless its home lies cyclically in (hole, next].
        const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
        if (stays) continue;
        table_[hole] = table_[next];
        hole = next;
    }
    table_[hole] = {};
}

// Copies the live entries, in order, into a ring of the given capacity and indexes them afresh. Runs when the
// ring is full of live entries (it doubles) or mostly holes (an old entry held the front while many after
// it were acknowledged), so its cost is spread over the adds that led to it.
void inflight_window::rebuild(std::size_t ring_capacity) {
    std::vector<ring_slot> ring(ring_capacity);
    std::uint64_t seq = 0;
    for (auto s = head_; s != tail_; ++s) {
        auto& slot = ring_[s & (ring_.size() - 1)];
        if (slot.is_live) ring[seq++] = std::move(slot);
    }
    ring_ = std::move(ring);
    head_ = 0;
    tail_ = seq;
    table_.assign(std::bit_ceil(ring_capacity * 2), index_slot{});
    for (auto s = head_; s != tail_; ++s) index_put(ring_[s].entry.id, s);
}

void inflight_window::push(outbound_message entry) {
    const auto span = tail_ - head_;
    if (span == ring_.size()) {
        // Full: grow when most slots are live, else squeeze the holes out.
        rebuild(size_ * 2 >= ring_.size() ? std::max(min_capacity, ring_.size() * 2) : ring_.size());
    }
    const auto id = entry.id;
    auto& slot = ring_[tail_ & (ring_.size() - 1)];
    slot.entry = std::move(entry);
    slot.is_live = true;
    index_put(id, tail_);
    ++tail_;
    ++size_;
}

std::optional<protocol::packet_id> inflight_window::add(message_ptr msg, protocol::qos qos_level, bool retain,
                                                         share_ref share) {
    if (size_ >= 65535) return std::nullopt;
    // [MQTT-2.3.1-2] an identifier is reused only once its flow is complete; 0 is never used [MQTT-2.3.1-1].
    while (next_id_ == 0 || index_of(next_id_) != table_.size()) ++next_id_;
    const auto id = next_id_++;
    const auto state = qos_level == protocol::qos::exactly_once ? outbound_state::awaiting_pubrec
                                                                : outbound_state::awaiting_puback;
    const auto stored_id = msg->storage_id();
    push({id, state, qos_level, retain, std::move(msg), stored_id, std::move(share)});
    return id;
}

void inflight_window::restore(outbound_message entry) { push(std::move(entry)); }

outbound_message* inflight_window::find(protocol::packet_id id) noexcept {
    const auto at = index_of(id);
    if (at == table_.size()) return nullptr;
    return &ring_[table_[at].seq & (ring_.size() - 1)].entry;
}

void inflight_window::erase(protocol::packet_id id) noexcept {
    const auto at = index_of(id);
    if (at == table_.size()) return;
    auto& slot = ring_[table_[at].seq & (ring_.size() - 1)];
    slot.entry = outbound_message{};  // lets go of the message now
    slot.is_live = false;
    index_remove(at);
    --size_;
    while (head_ != tail_ && !ring_[head_ & (ring_.size() - 1)].is_live) ++head_;
}

void inflight_window::clear() noexcept {
    ring_.clear();
    ring_.shrink_to_fit();
    table_.clear();
    table_.shrink_to_fit();
    head_ = tail_ = 0;
    size_ = 0;
}

}  // namespace mqttd::core
