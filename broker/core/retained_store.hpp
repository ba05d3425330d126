#pragma once
// Retained messages, one per topic, in a tree of topic levels so that a subscription's filter is matched by
// walking the tree rather than scanning every retained topic. Every walk is iterative (level_tree.hpp). Not
// thread-safe: the router guards it.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/message.hpp"
#include "broker/core/topic_tree.hpp"

namespace mqttd::core {

class retained_store {
public:
    retained_store();
    ~retained_store();

    // [MQTT-3.3.1-5] stores msg for its topic, replacing the previous one; [MQTT-3.3.1-10] an empty
    // payload removes it instead.
    void store(const message_ptr& msg);

    // Appends every retained message whose topic matches the filter ('$' rule included).
    void match(std::string_view filter, std::vector<message_ptr>& out) const;

    // Removes the topic's retained message, if any.
    void erase(std::string_view topic);

    std::size_t size() const noexcept { return count_; }
    // Topic and payload bytes of every retained message.
    std::size_t bytes() const noexcept { return bytes_; }

private:
    struct node {
        std::unordered_map<std::string, std::unique_ptr<node>, level_hash, std::equal_to<>> children;
        message_ptr msg;
        bool is_empty() const noexcept { return children.empty() && !msg; }
    };

    node root_;
    std::size_t count_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace mqttd::core
