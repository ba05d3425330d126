#pragma once
// What the broker keeps across restarts, and the interface of the engines that keep it (README: "Durable
// storage"). The core describes changes as values (operation); a commit_queue applies them, in order, in
// batches on a thread of its own; an engine (RocksDB, or memory for persistence.enabled false and for tests)
// makes a batch atomic and, when asked, durable. Standard library only here: no RocksDB, no Boost.
//
// Layout (rocksdb_engine; memory_engine keeps the same maps):
//   m <id:8>                      a message body, stored once for every queue that holds it
//   q <client id> <id:8>          a persistent session's queue entry (one session's queue is one key range,
//                                 in message-id order, which is publish order per publisher)
//   i <client id> <packet id:2>   an inbound QoS 2 packet id awaiting PUBREL [MQTT-4.3.3-2]
//   s <client id>                 a persistent session: its subscriptions and granted QoS
//   r <topic>                     a retained message (its own copy)
// A message body is deleted with the last queue entry that refers to it; the engine counts references.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mqttd::storage {

struct stored_message {
    std::uint64_t id = 0;  // 0 for retained messages (stored by topic)
    std::string topic;
    std::string payload;
    std::uint8_t qos = 0;
    bool retain = false;
};

// Where an outgoing message of a persistent session stands.
enum class delivery_state : std::uint8_t {
    queued = 0,            // not sent yet (or sent at QoS 1 without the packet id being recorded)
    awaiting_puback = 1,   // QoS 1 PUBLISH sent with packet_id
    awaiting_pubrec = 2,   // QoS 2 PUBLISH sent with packet_id: resend it with the same id [MQTT-4.4.0-1]
    awaiting_pubcomp = 3,  // PUBREL sent: resend PUBREL, never the PUBLISH again [MQTT-4.3.3-1]
};

struct queue_entry {
    std::uint64_t message_id = 0;
    std::uint8_t qos = 1;  // the QoS it is delivered at (the lesser of published and granted)
    bool retain = false;   // delivered with RETAIN 1 (a retained message sent on subscribe)
    delivery_state state = delivery_state::queued;
    std::uint16_t packet_id = 0;  // for every state but queued
};

struct subscription_record {
    std::string filter;
    std::uint8_t qos = 0;
};

// ---- changes

// The body of a message that `references` queue entries of the same batch (or later batches) point at.
struct put_message { stored_message message; std::uint32_t references = 0; };
struct put_retained { stored_message message; };  // replaces the topic's retained message
struct delete_retained { std::string topic; };
// Creates or replaces a persistent session with these subscriptions.
struct put_session { std::string client_id; std::vector<subscription_record> subscriptions; };
// Deletes the session, its whole queue (dropping the message references) and its inbound packet ids.
struct delete_session { std::string client_id; };
// Creates or updates one queue entry (the message must be stored, or put in the same batch).
struct put_queue_entry { std::string client_id; queue_entry entry; };
// Deletes one queue entry and its reference to the message.
struct delete_queue_entry { std::string client_id; std::uint64_t message_id = 0; };
struct put_inbound_id { std::string client_id; std::uint16_t packet_id = 0; };
struct delete_inbound_id { std::string client_id; std::uint16_t packet_id = 0; };

using operation = std::variant<put_message, put_retained, delete_retained, put_session, delete_session,
                               put_queue_entry, delete_queue_entry, put_inbound_id, delete_inbound_id>;

// ---- what a restart reads back

struct recovered_session {
    std::string client_id;
    std::vector<subscription_record> subscriptions;
    std::vector<queue_entry> queue;  // in message-id order
    std::vector<std::uint16_t> inbound_ids;
};

struct recovered_state {
    std::vector<stored_message> retained;
    std::vector<recovered_session> sessions;
    std::vector<stored_message> messages;  // every body a queue entry refers to, by id
    std::uint64_t next_message_id = 1;     // larger than every id ever stored
};

// Something an engine wants the broker's log to say: what recovery repaired or dropped, a corrupt store set
// aside, a warning from RocksDB. Not an error of the caller's.
enum class note_level : std::uint8_t { info, warning, error };
struct note {
    note_level level = note_level::info;
    std::string text;
};

// A write or read the engine could not do (disk full, I/O error); what() says why.
class storage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class engine {
public:
    virtual ~engine() = default;
    // Reads everything back; called once, before any apply(). Drops message bodies no entry refers to.
    virtual recovered_state recover() = 0;
    // Applies the operations atomically, in order; with `sync`, durable (the log fsynced) before returning.
    // Throws storage_error; then none of the batch is applied.
    virtual void apply(const std::vector<operation>& ops, bool sync) = 0;
    // Makes everything applied so far durable (periodic mode, shutdown).
    virtual void flush() = 0;
    // The notes gathered since the last call, oldest first. Warning: callable from any thread.
    virtual std::vector<note> take_notes() { return {}; }
};

}  // namespace mqttd::storage
