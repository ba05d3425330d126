#pragma once
// Turns a batch of operations into key writes, checks them, and keeps the message references: the one place
// that gives operations their meaning, so that memory_engine and rocksdb_engine cannot differ. Used by an
// engine on its own thread, one batch at a time.

#include <string>
#include <string_view>
#include <vector>

#include "storage/reference_table.hpp"
#include "storage/store.hpp"

namespace mqttd::storage {

// The store as it is plus the batch's own writes so far: a later operation of a batch sees the earlier ones.
class batch_view {
public:
    virtual bool contains(std::string_view key) = 0;
    // Every key starting with prefix, in order.
    virtual std::vector<std::string> keys_with_prefix(std::string_view prefix) = 0;
    virtual void put(std::string_view key, std::string_view value) = 0;
    virtual void erase(std::string_view key) = 0;

protected:
    ~batch_view() = default;
};

// Rules beyond store.hpp's:
// - put_message: id 0 and an id already stored are refused (storage_error: a broker bug fails its batch).
// - put_queue_entry, put_inbound_id for a client with no stored session are skipped (a promised reference is
//   given back): another worker may route to a session in the moment it is discarded. An entry whose body is
//   gone is skipped too. Packet id 0 is refused [MQTT-2.3.1-1].
// - deleting what is not stored (entry, inbound id, retained message, session) does nothing.
// References: put_message sets the body's count to `references`; a new queue entry takes one of them (or
// adds one when none is left); rewriting an entry (a state update) changes nothing; deleting an entry, or
// its session, drops one, and the body is deleted in the same batch when none is left.
class batch_builder {
public:
    batch_builder(batch_view& view, const reference_table& references)
        : view_{view}, references_{references} {}

    // Throws storage_error; the caller then drops the whole batch.
    void add(const operation& op);
    void add_all(const std::vector<operation>& ops) {
        for (const auto& op : ops) add(op);
    }

    // For the engine to apply to its reference_table once the batch is stored.
    const reference_changes& changes() const noexcept { return changes_; }

    void operator()(const put_message& op);
    void operator()(const put_retained& op);
    void operator()(const delete_retained& op);
    void operator()(const put_session& op);
    void operator()(const delete_session& op);
    void operator()(const put_queue_entry& op);
    void operator()(const delete_queue_entry& op);
    void operator()(const put_inbound_id& op);
    void operator()(const delete_inbound_id& op);

private:
    // The count as of this batch so far; nullptr when no body with this id is stored.
    const reference_count* count(std::uint64_t id) const;
    void drop_reference(std::uint64_t id);
    bool has_session(const std::string& client_id);
    void release_promise(std::uint64_t id);

    batch_view& view_;
    const reference_table& references_;
    reference_changes changes_;
};

}  // namespace mqttd::storage
