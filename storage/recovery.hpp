#pragma once
// Reads every key and value of a store back into a recovered_state, for both engines: rebuilds the message
// references, and lists what a crash (or damage) left behind for the engine to delete. Used on one thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/reference_table.hpp"
#include "storage/store.hpp"

namespace mqttd::storage {

struct recovery_result {
    recovered_state state;
    reference_table references;
    // Keys to delete: bodies no entry refers to (a crash between an entry's delete and its body's cannot
    // happen, since both are one batch; bodies whose entries were never written can), entries whose body is
    // missing, and entries and inbound ids of a client without a stored session.
    std::vector<std::string> stale_keys;
    std::vector<note> notes;
};

class recovery_builder {
public:
    // Throws corrupt_value_error for a value (or a key of a known kind) that does not decode, storage_error
    // for a key or value format this mqttd does not know (a newer one's).
    void add(std::string_view key, std::string_view value);
    recovery_result finish();

private:
    struct client_data {
        recovered_session session;
        bool has_record = false;
    };
    client_data& client(std::string_view client_id);

    recovery_result result_;
    std::vector<client_data> clients_;
    std::unordered_map<std::string, std::size_t> client_index_;
    std::size_t last_client_ = SIZE_MAX;  // one session's keys come together: most lookups are this one
    std::uint64_t max_id_ = 0;
};

}  // namespace mqttd::storage
