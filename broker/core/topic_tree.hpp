#pragma once
// The subscription tree: topic filters split into levels, with '+' and '#' as ordinary child keys. Every walk
// is iterative (level_tree.hpp), so a filter of 32,768 levels costs memory, not stack.
// Not thread-safe on its own: the router guards it with a reader-writer lock (match under a shared lock,
// subscribe/unsubscribe under an exclusive one).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/level_tree.hpp"
#include "broker/core/session_ref.hpp"
#include "broker/core/shared_subscription.hpp"
#include "protocol/packet.hpp"

namespace mqttd::core {

// Heterogeneous lookup, so matching a topic level needs no std::string.
struct level_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class topic_tree {
public:
    topic_tree();
    ~topic_tree();

    // Adds or replaces (same session, same filter) a subscription [MQTT-3.8.4-3]. Returns true when new.
    bool subscribe(const subscriber& s, std::string_view filter);
    // Returns true when the session had that exact filter.
    bool unsubscribe(const session_slot* s, std::string_view filter);

    // The same for a member of group `group` on `filter` (the parts of "$share/group/filter"); `full` is the
    // whole share filter, the tag its deliveries carry. A new group takes `strategy`.
    bool subscribe_shared(const subscriber& s, const share_filter& parts, std::string_view full,
                          share_strategy strategy);
    bool unsubscribe_shared(const session_slot* s, const share_filter& parts);

    // Appends one entry per matching subscription; a session with overlapping filters appears once per
    // filter (the router merges them). Each group whose filter matches adds the one member it picks for a
    // message from `publisher`, with its share tag set. Topics starting with '$' are not matched by a filter
    // whose first level is a wildcard [MQTT-4.7.2-1].
    void match(std::string_view topic, std::vector<subscriber>& out, std::string_view publisher = {}) const;

    // A member of the group, picked as for a message from `publisher`; false when the group is gone or empty.
    bool pick_shared(const share_filter& parts, std::string_view publisher, subscriber& out) const;

    std::size_t subscription_count() const noexcept { return count_; }

private:
    // Past this many subscribers a node indexes them by session, so subscribing and unsubscribing stay O(1)
    // when 100,000 sessions share one filter (a scan each would be quadratic, e.g. at start-up restoring
    // them); below it, a scan of a few entries is cheaper than a hash table's memory.
    static constexpr std::size_t indexed_from = 32;

    struct node {
        std::unordered_map<std::string, std::unique_ptr<node>, level_hash, std::equal_to<>> children;
        std::vector<subscriber> subscribers;
        // Session -> position in subscribers; only while subscribers.size() >= indexed_from / 2.
        std::unique_ptr<std::unordered_map<const session_slot*, std::size_t>> index;
        // The shared subscriptions on this filter, one per group; null while there are none (most nodes).
        std::unique_ptr<std::vector<std::unique_ptr<share_group>>> groups;
        bool is_empty() const noexcept { return children.empty() && subscribers.empty() && !groups; }
        share_group* find_group(std::string_view name) const noexcept;
        // The position of the session's subscription here, or subscribers.size().
        std::size_t find(const session_slot* s) const;
        void add(const subscriber& s);
        void remove_at(std::size_t position);
    };

    node& make_path(std::string_view filter);

    node root_;
    std::size_t count_ = 0;
};


}  // namespace mqttd::core
