#pragma once
// MQTT 3.1.1 control packets as plain values. Views (string_view, span) point into the buffer the packet
// was decoded from, or into data the caller keeps alive while encoding; a packet never owns bytes.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace mqttd::protocol {

using packet_id = std::uint16_t;
using bytes_view = std::span<const std::uint8_t>;

enum class qos : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

enum class packet_type : std::uint8_t {
    connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp,
    subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect
};

// CONNACK return codes (section 3.2.2.3, table 3.1).
enum class connack_code : std::uint8_t {
    accepted = 0,
    unacceptable_protocol_version = 1,
    identifier_rejected = 2,
    server_unavailable = 3,
    bad_username_or_password = 4,
    not_authorized = 5,
};

// Protocol level 4 is MQTT 3.1.1 ("MQTT"); level 3 is legacy MQTT 3.1 ("MQIsdp").
enum class protocol_version : std::uint8_t { v3_1 = 3, v3_1_1 = 4 };

struct will {
    std::string_view topic;
    bytes_view payload;
    qos qos_level = qos::at_most_once;
    bool retain = false;
};

struct connect {
    protocol_version version = protocol_version::v3_1_1;
    bool clean_session = true;
    std::uint16_t keep_alive = 0;  // seconds; 0 disables [MQTT-3.1.2-10]
    std::string_view client_id;
    std::optional<will> last_will;
    std::optional<std::string_view> username;
    std::optional<bytes_view> password;
};

struct connack {
    bool session_present = false;
    connack_code code = connack_code::accepted;
};

struct publish {
    bool dup = false;
    qos qos_level = qos::at_most_once;
    bool retain = false;
    std::string_view topic;
    packet_id id = 0;  // present on the wire only for QoS > 0
    bytes_view payload;
};

struct puback { packet_id id = 0; };
struct pubrec { packet_id id = 0; };
struct pubrel { packet_id id = 0; };
struct pubcomp { packet_id id = 0; };

struct subscription {
    std::string_view filter;
    qos requested = qos::at_most_once;
};

struct subscribe {
    packet_id id = 0;
    std::vector<subscription> subscriptions;
};

// [MQTT-3.9.3-2] 0x00, 0x01, 0x02 grant a QoS; 0x80 is failure.
inline constexpr std::uint8_t suback_failure = 0x80;

struct suback {
    packet_id id = 0;
    std::vector<std::uint8_t> return_codes;
};

struct unsubscribe {
    packet_id id = 0;
    std::vector<std::string_view> filters;
};

struct unsuback { packet_id id = 0; };
struct pingreq {};
struct pingresp {};
struct disconnect {};

// Alternative index + 1 == packet_type value, so type_of() is a cast.
using packet = std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback,
                            unsubscribe, unsuback, pingreq, pingresp, disconnect>;

inline packet_type type_of(const packet& p) noexcept {
    return static_cast<packet_type>(p.index() + 1);
}

}  // namespace mqttd::protocol
