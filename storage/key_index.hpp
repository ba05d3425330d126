#pragma once
// Which session (s), queue (q) and inbound packet id (i) keys the durable store holds, kept in memory so that
// batch_builder's existence checks (is the session stored? is this entry new?) never read RocksDB. Reading
// them through a WriteBatchWithIndex was about 40 % of the broker's CPU in sync batch mode (perf, 3 Dec
// 2026): a memtable or block-cache lookup per check and a skip list per write. The index answers from two
// hash lookups; it costs about 40 bytes per stored queue entry (recovery_time.py's RSS after restoring 1
// million entries: 1,232 MiB with the index, 1,191 MiB in the README's run of 2 December without it).
//
// Filled by recover() from what it read, changed by every put and erase of a batch as it is built, and
// either committed with the batch or rolled back when the batch fails, so that it never says more than the
// store holds. Owned by the engine, used on its thread only (the commit thread).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "storage/store.hpp"

namespace mqttd::storage {

class key_index {
public:
    // Starts over from what recover() read.
    void reset(const recovered_state& state);

    // Whether the key is stored (with the batch's own writes so far); nullopt for kinds not indexed (m, r).
    std::optional<bool> contains(std::string_view key) const;
    // The stored keys starting with a queue_prefix() or inbound_prefix(), in order; nullopt for other
    // prefixes.
    std::optional<std::vector<std::string>> keys_with_prefix(std::string_view prefix) const;

    // A write of the batch being built; keys of kinds not indexed are ignored.
    void put(std::string_view key) { set(key, true); }
    void erase(std::string_view key) { set(key, false); }
    // The batch was stored: its writes stay.
    void commit() noexcept { undo_.clear(); }
    // The batch failed: its writes are taken back, newest first.
    void rollback() noexcept;

private:
    // One client id's keys. An entry stays while it holds anything (a queue entry without a stored session is
    // a state recover() cleans up, but the index follows the writes whatever they are).
    struct client_keys {
        bool has_session = false;
        std::unordered_set<std::uint64_t> queue;  // message ids
        std::vector<std::uint16_t> inbound;       // packet ids, unordered; a publisher has few at once
        bool is_empty() const noexcept { return !has_session && queue.empty() && inbound.empty(); }
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    struct change {
        std::string key;
        bool was_present = false;
    };

    void set(std::string_view key, bool is_present);
    // Changes one key's presence; returns what it was, or nullopt for a key of a kind not indexed.
    std::optional<bool> assign(std::string_view key, bool is_present);

    std::unordered_map<std::string, client_keys, string_hash, std::equal_to<>> clients_;
    std::vector<change> undo_;
};

}  // namespace mqttd::storage
