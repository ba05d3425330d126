#pragma once
// Client id -> session slot, for takeover and persistent-session lookup across shards.
// Warning: called from all shard threads; one mutex, held only for the map operation.

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/core/session_ref.hpp"
#include "broker/core/topic_tree.hpp"

namespace mqttd::core {

class client_registry {
public:
    struct acquired {
        session_ref slot;
        bool is_new;  // true: created live on the caller's shard, which must install a session now
    };

    // The slot registered for client_id, with its pending_connects raised so it stays registered until the
    // owner takes the CONNECT up; or a new slot, live on `shard`.
    acquired acquire(std::string_view client_id, shard_index shard);

    // Called by the owner when it discards a session: forgets the slot and marks it gone, unless a CONNECT
    // that found it is still on its way (then the slot stays, and the caller keeps an empty session for
    // that CONNECT to take over). Returns true when the slot was released.
    bool release(const session_ref& slot);

    // The slot registered for client_id, or null.
    session_ref find(std::string_view client_id) const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    // Keyed by a view of the slot's own client id (the slot is kept alive by the value): the id is stored once.
    std::unordered_map<std::string_view, session_ref, level_hash, std::equal_to<>> slots_;
};

}  // namespace mqttd::core
