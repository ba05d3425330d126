#include "broker/core/client_registry.hpp"

namespace mqttd::core {

client_registry::acquired client_registry::acquire(std::string_view client_id, shard_index shard) {
    std::lock_guard lock{mutex_};
    if (const auto it = slots_.find(client_id); it != slots_.end()) {
        it->second->pending_connects.fetch_add(1, std::memory_order_relaxed);
        return {it->second, false};
    }
    auto slot = std::make_shared<session_slot>(std::string{client_id}, shard);
    slots_.emplace(std::string_view{slot->client_id}, slot);
    return {std::move(slot), true};
}

bool client_registry::release(const session_ref& slot) {
    std::lock_guard lock{mutex_};
    // Increments happen under this lock, so a zero read here cannot be raced by a new acquire().
    if (slot->pending_connects.load(std::memory_order_relaxed) != 0) return false;
    if (const auto it = slots_.find(slot->client_id); it != slots_.end() && it->second == slot) slots_.erase(it);
    slot->set_location({slot_state::gone, slot->owner()});
    return true;
}

session_ref client_registry::find(std::string_view client_id) const {
    std::lock_guard lock{mutex_};
    const auto it = slots_.find(client_id);
    return it == slots_.end() ? nullptr : it->second;
}

std::size_t client_registry::size() const {
    std::lock_guard lock{mutex_};
    return slots_.size();
}

}  // namespace mqttd::core
