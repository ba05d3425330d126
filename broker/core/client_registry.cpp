#include "broker/core/client_registry.hpp"

namespace mqttd::core {

std::pair<session_ref, bool> client_registry::find_or_create(std::string_view client_id, std::size_t worker) {
    std::lock_guard lock{mutex_};
    if (const auto it = sessions_.find(client_id); it != sessions_.end()) return {it->second, false};
    auto s = std::make_shared<session_slot>(std::string{client_id}, worker);
    sessions_.emplace(std::string{client_id}, s);
    return {std::move(s), true};
}

void client_registry::erase(const session_ref& s) {
    std::lock_guard lock{mutex_};
    if (const auto it = sessions_.find(s->client_id); it != sessions_.end() && it->second == s)
        sessions_.erase(it);
}

std::size_t client_registry::size() const {
    std::lock_guard lock{mutex_};
    return sessions_.size();
}

}  // namespace mqttd::core
