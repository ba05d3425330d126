#pragma once
// The identity of a session that other threads may hold: the topic tree, the client registry and routed
// deliveries carry a session_ref, never a pointer to the session itself (which only its owner worker may
// touch). `owner` says which worker owns the session now; it changes when a client reconnects on another
// worker, and a worker that receives a delivery for a session it no longer owns forwards it.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace mqttd::core {

struct session_slot {
    session_slot(std::string id, std::size_t owner_worker) : client_id{std::move(id)}, owner{owner_worker} {}

    const std::string client_id;
    std::atomic<std::size_t> owner;
};

using session_ref = std::shared_ptr<session_slot>;

}  // namespace mqttd::core
