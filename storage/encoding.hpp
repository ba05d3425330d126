#pragma once
// The bytes of the keys and values in store.hpp's layout. Pure functions of their arguments; any thread.
//
// Keys start with their kind's letter. Numbers are big-endian, so that a byte-wise ordered store (RocksDB's
// default comparator, std::map<std::string>) keeps them in numeric order. The client id inside q and i keys
// carries a 2-byte length first: one session's keys are then exactly the keys starting with
// queue_prefix(client), and no client id ("a") can select another's keys ("ab") by being its prefix.
//   m <id:8>
//   q <client length:2> <client id> <id:8>
//   i <client length:2> <client id> <packet id:2>
//   s <client id>
//   r <topic>
// Every value starts with a format byte (value_format today), so that a later format can still read the
// data an older mqttd wrote, and an older mqttd refuses, by name, the data of a newer one.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.hpp"

namespace mqttd::storage {

inline constexpr std::uint8_t value_format = 1;

// A value that cannot be what its key says: cut short, a length that runs past its end, a QoS of 3. The
// store is damaged (or was written by a bug); what() names the key and what is wrong with the value.
class corrupt_value_error : public storage_error {
public:
    using storage_error::storage_error;
};

enum class key_kind : char { message = 'm', queue = 'q', inbound = 'i', session = 's', retained = 'r' };

struct parsed_key {
    key_kind kind = key_kind::message;
    std::string_view name;  // the client id (q, i, s) or the topic (r); empty for m
    std::uint64_t id = 0;   // the message id (m, q) or the packet id (i)
};

// ---- keys. The client id, topic or filter must fit a 2-byte length (MQTT strings do); else storage_error.

std::string message_key(std::uint64_t id);
std::string queue_prefix(std::string_view client_id);
std::string queue_key(std::string_view client_id, std::uint64_t message_id);
std::string inbound_prefix(std::string_view client_id);
std::string inbound_key(std::string_view client_id, std::uint16_t packet_id);
std::string session_key(std::string_view client_id);
std::string retained_key(std::string_view topic);

// False for a key none of the functions above could have made. The views point into `key`.
bool parse_key(std::string_view key, parsed_key& out) noexcept;

// s in double quotes, with '"', '\\' and control characters escaped, as the log writes a client's strings.
std::string quote(std::string_view s);

// The key for a person to read: m/42, q/"sensor-1"/42, r/"a/b"; anything else as hex.
std::string describe_key(std::string_view key);

// ---- values. decode_* throw corrupt_value_error naming `key`, or storage_error for a newer format.

std::string encode_message(const stored_message& message);  // m: the id is in the key
stored_message decode_message(std::string_view key, std::uint64_t id, std::string_view value);

std::string encode_retained(const stored_message& message);  // r: the topic is in the key
stored_message decode_retained(std::string_view key, std::string_view topic, std::string_view value);

std::string encode_queue_entry(const queue_entry& entry);  // q: the message id is in the key
queue_entry decode_queue_entry(std::string_view key, std::uint64_t message_id, std::string_view value);

std::string encode_session(const std::vector<subscription_record>& subscriptions);
std::vector<subscription_record> decode_session(std::string_view key, std::string_view value);

std::string encode_inbound_id();  // i: everything is in the key
void check_inbound_id(std::string_view key, std::string_view value);

}  // namespace mqttd::storage
