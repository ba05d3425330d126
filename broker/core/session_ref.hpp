#pragma once
// The identity of a client id that other threads may hold: the topic tree, the client registry and routed
// deliveries carry a session_ref, never a pointer to the session itself (which only its owner shard may
// touch). The slot also says where the session is, as one atomic word, so that any shard can route to it:
//
//   live(S)     the session is in shard S's table; deliveries and CONNECTs for it go to S.
//   moving(S)   the session is on its way to shard S (it may still sit on the shard it leaves, waiting
//               for the other shards to flush what they routed to it there); S parks what arrives for it
//               and replays it, in order, once the session is installed.
//   gone        the session was discarded and the slot left the registry; a late delivery is dropped,
//               because the subscription it was routed by ended with the session.
//
// Only the shard that owns the session (or the one it is moving to, on arrival) writes the location.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mqttd::core {

using shard_index = std::uint32_t;

enum class slot_state : std::uint8_t { live, moving, gone };

struct slot_location {
    slot_state state;
    shard_index shard;
};

class session_slot {
public:
    session_slot(std::string id, shard_index owner)
        : client_id{std::move(id)}, location_{pack({slot_state::live, owner})} {}

    const std::string client_id;

    // Warning: read from all threads. A shard that sees a location keeps seeing it or a later one.
    slot_location location() const noexcept { return unpack(location_.load(std::memory_order_acquire)); }
    shard_index owner() const noexcept { return location().shard; }
    void set_location(slot_location l) noexcept { location_.store(pack(l), std::memory_order_release); }

    // CONNECTs found in the registry and not yet taken up by the owner: while any is on its way, the slot
    // must stay registered (see client_registry::release). Incremented under the registry's lock.
    std::atomic<std::uint32_t> pending_connects{0};

    // Each incarnation of the session under this client id gets a new epoch; subscriptions and deliveries
    // carry it, so a message routed to an incarnation that was discarded never reaches its successor.
    std::uint32_t next_epoch() noexcept { return epochs_.fetch_add(1, std::memory_order_relaxed) + 1; }

    // For shared subscriptions (shared_subscription.hpp), which prefer members online and, by one strategy, the
    // least loaded: whether a connection is attached, and the messages in flight and queued. Written by the
    // owner shard, read by any; a stale value only makes one pick less than ideal.
    bool is_online() const noexcept { return online_.load(std::memory_order_relaxed); }
    void set_online(bool online) noexcept { online_.store(online, std::memory_order_relaxed); }
    std::uint32_t load() const noexcept { return load_.load(std::memory_order_relaxed); }
    void set_load(std::size_t load) noexcept {
        load_.store(static_cast<std::uint32_t>(std::min<std::size_t>(load, UINT32_MAX)), std::memory_order_relaxed);
    }

private:
    static std::uint64_t pack(slot_location l) noexcept {
        return (static_cast<std::uint64_t>(l.state) << 32) | l.shard;
    }
    static slot_location unpack(std::uint64_t v) noexcept {
        return {static_cast<slot_state>(v >> 32), static_cast<shard_index>(v & 0xffff'ffffU)};
    }

    std::atomic<std::uint64_t> location_;
    std::atomic<std::uint32_t> epochs_{0};
    std::atomic<std::uint32_t> load_{0};
    std::atomic<bool> online_{false};
};

using session_ref = std::shared_ptr<session_slot>;

}  // namespace mqttd::core
