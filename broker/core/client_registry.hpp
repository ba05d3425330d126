#pragma once
// Client id -> session identity, for takeover and persistent-session lookup across workers.
// Warning: called from all worker threads; one mutex, held only for the map operation.

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "broker/core/session_ref.hpp"
#include "broker/core/topic_tree.hpp"

namespace mqttd::core {

class client_registry {
public:
    // The session registered for client_id, or a new one owned by `worker` (second == true).
    std::pair<session_ref, bool> find_or_create(std::string_view client_id, std::size_t worker);

    // Forgets client_id only while it still maps to `s` (a newer session under the same id stays).
    void erase(const session_ref& s);

    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, session_ref, level_hash, std::equal_to<>> sessions_;
};

}  // namespace mqttd::core
