#pragma once
// How many queue entries hold each stored message body, so that the body goes with the last of them. Kept in
// memory only: recover() rebuilds it from the q entries. Owned by one engine; used on its thread only.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace mqttd::storage {

struct reference_count {
    // Queue entries stored that point at the body.
    std::uint32_t entries = 0;
    // put_message's `references` not yet written as entries: the body stays for them even when every entry
    // written so far is gone, since each session's entry may come in a later batch from another worker.
    // Lost on restart, where only stored entries count.
    std::uint32_t promised = 0;

    std::uint64_t total() const noexcept { return std::uint64_t{entries} + promised; }
};

// One batch's changes to the table, applied only once the batch is stored. nullopt: the body is deleted.
using reference_changes = std::unordered_map<std::uint64_t, std::optional<reference_count>>;

class reference_table {
public:
    // nullptr when no body with this id is stored.
    const reference_count* find(std::uint64_t id) const noexcept {
        const auto it = counts_.find(id);
        return it == counts_.end() ? nullptr : &it->second;
    }
    reference_count* find(std::uint64_t id) noexcept {
        const auto it = counts_.find(id);
        return it == counts_.end() ? nullptr : &it->second;
    }
    void set(std::uint64_t id, reference_count count) { counts_.insert_or_assign(id, count); }
    void erase(std::uint64_t id) { counts_.erase(id); }
    void apply(const reference_changes& changes) {
        for (const auto& [id, count] : changes) {
            if (count)
                counts_.insert_or_assign(id, *count);
            else
                counts_.erase(id);
        }
    }
    void reserve(std::size_t n) { counts_.reserve(n); }
    std::size_t size() const noexcept { return counts_.size(); }

private:
    std::unordered_map<std::uint64_t, reference_count> counts_;
};

}  // namespace mqttd::storage
