#include "storage/key_index.hpp"

#include <algorithm>
#include <utility>

#include "storage/encoding.hpp"

namespace mqttd::storage {
namespace {

// The kind and client id of a queue_prefix() or inbound_prefix(): the prefix plus a zero id is a whole key.
std::optional<parsed_key> parse_client_prefix(std::string_view prefix) {
    if (prefix.empty() || (prefix[0] != 'q' && prefix[0] != 'i')) return std::nullopt;
    std::string probe{prefix};
    probe.append(prefix[0] == 'q' ? 8 : 2, '\0');
    parsed_key parsed;
    if (!parse_key(probe, parsed)) return std::nullopt;
    // parsed.name points into probe; the same bytes sit at the same place in prefix.
    parsed.name = prefix.substr(3, parsed.name.size());
    return parsed;
}

}  // namespace

void key_index::reset(const recovered_state& state) {
    clients_.clear();
    undo_.clear();
    for (const auto& session : state.sessions) {
        auto& keys = clients_[session.client_id];
        keys.has_session = true;
        keys.queue.reserve(session.queue.size());
        for (const auto& entry : session.queue) keys.queue.insert(entry.message_id);
        keys.inbound = session.inbound_ids;
    }
}

std::optional<bool> key_index::contains(std::string_view key) const {
    parsed_key parsed;
    if (!parse_key(key, parsed)) return std::nullopt;
    if (parsed.kind != key_kind::session && parsed.kind != key_kind::queue && parsed.kind != key_kind::inbound)
        return std::nullopt;
    const auto it = clients_.find(parsed.name);
    if (it == clients_.end()) return false;
    const auto& keys = it->second;
    switch (parsed.kind) {
    case key_kind::session: return keys.has_session;
    case key_kind::queue: return keys.queue.contains(parsed.id);
    default: return std::ranges::find(keys.inbound, parsed.id) != keys.inbound.end();
    }
}

std::optional<std::vector<std::string>> key_index::keys_with_prefix(std::string_view prefix) const {
    const auto parsed = parse_client_prefix(prefix);
    if (!parsed) return std::nullopt;
    std::vector<std::string> keys;
    const auto it = clients_.find(parsed->name);
    if (it == clients_.end()) return keys;
    if (parsed->kind == key_kind::queue) {
        std::vector<std::uint64_t> ids{it->second.queue.begin(), it->second.queue.end()};
        std::ranges::sort(ids);
        for (const auto id : ids) keys.push_back(queue_key(parsed->name, id));
    } else {
        auto ids = it->second.inbound;
        std::ranges::sort(ids);
        for (const auto id : ids) keys.push_back(inbound_key(parsed->name, id));
    }
    return keys;
}

void key_index::set(std::string_view key, bool is_present) {
    if (const auto was_present = assign(key, is_present)) undo_.push_back({std::string{key}, *was_present});
}

std::optional<bool> key_index::assign(std::string_view key, bool is_present) {
    parsed_key parsed;
    if (!parse_key(key, parsed)) return std::nullopt;
    if (parsed.kind != key_kind::session && parsed.kind != key_kind::queue && parsed.kind != key_kind::inbound)
        return std::nullopt;
    auto it = clients_.find(parsed.name);
    if (it == clients_.end()) {
        if (!is_present) return false;
        it = clients_.emplace(std::string{parsed.name}, client_keys{}).first;
    }
    auto& keys = it->second;
    bool was_present = false;
    switch (parsed.kind) {
    case key_kind::session:
        was_present = std::exchange(keys.has_session, is_present);
        break;
    case key_kind::queue:
        was_present = is_present ? !keys.queue.insert(parsed.id).second : keys.queue.erase(parsed.id) > 0;
        break;
    default: {
        const auto packet_id = static_cast<std::uint16_t>(parsed.id);
        const auto found = std::ranges::find(keys.inbound, packet_id);
        was_present = found != keys.inbound.end();
        if (is_present && !was_present) keys.inbound.push_back(packet_id);
        if (!is_present && was_present) {
            *found = keys.inbound.back();
            keys.inbound.pop_back();
        }
    }
    }
    if (keys.is_empty()) clients_.erase(it);
    return was_present;
}

void key_index::rollback() noexcept {
    // Taking a write back re-inserts at most what that write removed: an allocation that fails here ends the
    // process (noexcept) rather than leave an index that disagrees with the store.
    for (auto change = undo_.rbegin(); change != undo_.rend(); ++change) (void)assign(change->key, change->was_present);
    undo_.clear();
}

}  // namespace mqttd::storage
