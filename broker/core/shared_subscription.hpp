#pragma once
// Shared subscriptions (README: "Shared subscriptions"): `$share/GROUP/FILTER` joins the consumer group GROUP
// on FILTER, and each matching message goes to one member of each group. The syntax and rules are MQTT 5's
// (4.8.2), which Mosquitto, FlashMQ and EMQX also accept from MQTT 3.1.1 clients.
//
// A group lives in the topic tree, at FILTER's node, and is read under the tree's shared lock by every shard
// thread at once: picking a member touches only atomics, and the sticky strategy's table has its own mutex.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/session_ref.hpp"
#include "protocol/packet.hpp"

namespace mqttd::core {

// Which member of a group a message goes to.
enum class share_strategy : std::uint8_t {
    round_robin,          // in turn
    random,               // uniformly at random
    sticky_by_publisher,  // one publisher's messages stay on one member while that member is online
    least_inflight,       // the member with the fewest messages in flight and queued
};
const char* to_string(share_strategy s) noexcept;
std::optional<share_strategy> parse_share_strategy(std::string_view name) noexcept;

// The parts of a share filter. Views into the string parsed.
struct share_filter {
    std::string_view group;
    std::string_view filter;
};
enum class share_syntax : std::uint8_t { ordinary, shared, invalid };

// Whether `full` (a valid topic filter) is an ordinary filter, a valid `$share/GROUP/FILTER` (parts set), or a
// malformed one: its first level is "$share" but the group is empty or holds '+' or '#', or no filter follows
// (MQTT 5 4.8.2; answered with SUBACK 0x80).
share_syntax parse_share_filter(std::string_view full, share_filter& parts) noexcept;

// What a delivery through a group carries: the full `$share/GROUP/FILTER` it came by, so that a message the
// member could not finish goes back to the group (shard.hpp: "Shared subscriptions"). Null for ordinary
// subscriptions. One allocation per group, shared by every delivery through it.
using share_ref = std::shared_ptr<const std::string>;

struct subscriber {
    session_ref session;
    std::uint32_t epoch = 0;  // the session incarnation that subscribed (session_slot::next_epoch)
    protocol::qos granted = protocol::qos::at_most_once;
    bool persistent = false;  // a clean session 0 subscribed: QoS 1/2 messages for it are stored
    share_ref share = nullptr;  // set on a target picked from a group
};

// One group on one filter: its members and the state of its strategy.
class share_group {
public:
    share_group(std::string_view full_filter, std::string_view name, share_strategy strategy);

    const std::string& name() const noexcept { return name_; }
    std::size_t size() const noexcept { return members_.size(); }
    bool is_empty() const noexcept { return members_.empty(); }

    // Adds the member or replaces its subscription (same session). Returns true when new. Exclusive lock.
    bool add(subscriber s);
    // Returns true when the session was a member. Exclusive lock.
    bool remove(const session_slot* s);

    // The member for the next message from `publisher` (a client id; empty when none), with its share tag set;
    // false when the group has no member. Members online are preferred; when none is, the members take the
    // messages in turn (persistent ones queue them). Shared lock: safe from every thread at once.
    bool pick(std::string_view publisher, subscriber& out) const;

private:
    const subscriber* by_turn() const noexcept;
    const subscriber* at_random() const noexcept;
    const subscriber* least_loaded() const noexcept;
    const subscriber* sticky(std::string_view publisher) const;

    share_ref tag_;
    std::string name_;
    share_strategy strategy_;
    std::vector<subscriber> members_;
    mutable std::atomic<std::uint64_t> turn_{0};
    mutable std::atomic<std::uint64_t> offline_turn_{0};

    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    // sticky_by_publisher: publisher -> member. An entry lasts while its member is in the group; a table
    // that grows past max_sticky (publishers come and go) starts afresh.
    static constexpr std::size_t max_sticky = 100'000;
    mutable std::mutex sticky_mutex_;
    mutable std::unordered_map<std::string, const session_slot*, string_hash, std::equal_to<>> sticky_;
};

// How each group picks: the broker-wide default and per-group overrides (config shared_subscription_strategy
// and shared_subscription_groups).
struct share_strategies {
    share_strategy fallback = share_strategy::round_robin;
    std::unordered_map<std::string, share_strategy> by_group;
    share_strategy for_group(std::string_view group) const {
        const auto it = by_group.find(std::string{group});
        return it == by_group.end() ? fallback : it->second;
    }

    bool operator==(const share_strategies&) const = default;
};

}  // namespace mqttd::core
