#pragma once
// A set of packet identifiers kept as a sorted vector: 24 bytes and no allocation while empty (most sessions,
// most of the time), where an unordered_set costs 56 bytes even empty. The set holds a client's QoS 2 ids
// awaiting PUBREL, at most the client's own in-flight window, so the O(n) insert moves a few bytes.
// Owned by one session; not thread-safe.

#include <algorithm>
#include <vector>

#include "protocol/packet.hpp"

namespace mqttd::core {

class packet_id_set {
public:
    // True when the id was not there yet.
    bool insert(protocol::packet_id id) {
        const auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
        if (it != ids_.end() && *it == id) return false;
        ids_.insert(it, id);
        return true;
    }
    // True when the id was there.
    bool erase(protocol::packet_id id) {
        const auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
        if (it == ids_.end() || *it != id) return false;
        ids_.erase(it);
        if (ids_.empty()) ids_.shrink_to_fit();  // an idle session holds no buffer
        return true;
    }
    bool contains(protocol::packet_id id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }
    std::size_t size() const noexcept { return ids_.size(); }

private:
    std::vector<protocol::packet_id> ids_;
};

}  // namespace mqttd::core
