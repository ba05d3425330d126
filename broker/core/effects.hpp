#pragma once
// What the session core asks its caller to do. The core never performs I/O; the connection executes these
// in order. The vector is caller-owned and reused, so a call allocates nothing for its output in the
// steady state.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/core/message.hpp"
#include "protocol/packet.hpp"
#include "storage/store.hpp"

namespace mqttd::core {

// Why a network connection ended; decides whether the will is published [MQTT-3.1.2-8, -10].
enum class close_reason {
    client_disconnect,   // DISCONNECT received: no will
    network_error,       // socket error or EOF without DISCONNECT
    protocol_error,      // the client broke the protocol
    keepalive_timeout,   // [MQTT-3.1.2-24]
    connect_timeout,     // no CONNECT in time
    session_taken_over,  // [MQTT-3.1.4-2] another connection with the same client id
    server_shutdown,     // the broker is stopping: no will (see README)
    connect_rejected,    // CONNACK with a non-zero code was sent [MQTT-3.2.2-5]
    write_timeout,       // the client stopped reading: writes made no progress for write_timeout
    storage_failed,      // what this client's last packets needed could not be stored: it will resend
    kicked,              // an operator closed it (admin API): the will is published
};
inline constexpr std::size_t close_reason_count = 11;

const char* to_string(close_reason r) noexcept;

// A control packet for this client (CONNACK, PUBACK, SUBACK, ...): holds no views into transient data.
struct send_packet { protocol::packet packet; };

// A PUBLISH to this client: the shared message plus what differs per subscriber.
struct send_publish {
    message_ptr msg;
    protocol::qos qos_level;
    protocol::packet_id id;  // 0 for QoS 0
    bool dup;
    bool retain;
};

// Publish to every matching subscription (and the retained store when msg->is_retained()). `ack` (PUBACK or
// PUBREC) goes to the publisher before any copy of the message; where storage makes acknowledgements wait,
// both wait until the message is stored. `inbound_id`: a QoS 2 packet id to store with the message for the
// publisher's persistent session, so that a resent PUBLISH after a crash is still recognised [MQTT-4.3.3-2].
struct route {
    message_ptr msg;
    std::optional<protocol::packet> ack;
    protocol::packet_id inbound_id = 0;
};

// Changes to durable storage, for a persistent session. `wait`: this session's outputs after it are held
// until it is stored (README: "Durable storage" says which changes wait).
struct persist {
    std::vector<storage::operation> ops;
    bool wait = false;
};

// Adds the subscription and looks up the retained messages its filter matches, as one step.
struct add_subscription { std::string filter; protocol::qos granted; };
// A SUBSCRIBE filter the ACL refused (SUBACK 0x80), for the log.
struct subscribe_denied { std::string filter; };
struct remove_subscription { std::string filter; };

// After SUBACK: send the retained messages that the add_subscription effects before it found
// [MQTT-3.3.1-6], each at its subscription's granted QoS.
struct deliver_retained {};

// Why a message did not reach a session. Every drop is counted by reason.
enum class drop_reason : std::uint8_t {
    queue_full,        // QoS 1/2: the session's queue holds max_queued_messages
    queue_bytes_full,  // QoS 1/2: the session's queue holds max_queued_bytes
    outbound_full,     // QoS 0: the connection's unsent bytes passed max_outbound_bytes (a slow reader)
    offline_qos0,      // QoS 0 for a session with no connection: not kept, by design (as Mosquitto)
};
inline constexpr std::size_t drop_reason_count = 4;
const char* to_string(drop_reason r) noexcept;

// A message this session will never deliver. `dropped_total` counts this session's drops for the reason.
struct message_dropped {
    std::string topic;
    drop_reason reason;
    std::uint64_t dropped_total;
};

struct close_connection {
    close_reason reason;
    const char* detail = nullptr;  // what the client did wrong, for the log (static text)
};

using effect = std::variant<send_packet, send_publish, route, add_subscription, subscribe_denied,
                            remove_subscription, deliver_retained, message_dropped, close_connection, persist>;
using effects = std::vector<effect>;

}  // namespace mqttd::core
