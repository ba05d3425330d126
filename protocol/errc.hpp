#pragma once
// Every way a byte stream can break the MQTT 3.1.1 rules, as one named error each. The decoder and the
// validators report these; connack_for() says which ones the spec answers with a CONNACK code before closing.

#include <optional>
#include <system_error>

#include "protocol/packet.hpp"

namespace mqttd::protocol {

enum class errc {
    // fixed header
    malformed_remaining_length = 1,  // more than 4 bytes, or more bytes than the value needs [MQTT-2.2.3]
    packet_too_large,                // remaining length above the configured maximum packet size
    invalid_packet_type,             // type 0 or 15 [MQTT-2.2.1]
    reserved_flags,                  // fixed header flags other than the ones the type requires [MQTT-2.2.2-2]
    invalid_qos,                     // PUBLISH QoS bits both set [MQTT-3.3.1-4]
    // body shape
    truncated_packet,                // a field runs past the remaining length
    trailing_bytes,                  // bytes left over after the last field
    // strings [MQTT-1.5.3]
    invalid_utf8,                    // ill-formed UTF-8 (bad lead/continuation byte, overlong, > U+10FFFF)
    utf8_surrogate,                  // U+D800..U+DFFF encoded [MQTT-1.5.3-1]
    utf8_null_character,             // U+0000 [MQTT-1.5.3-2]
    string_too_long,                 // more than 65535 bytes (encoding only)
    // topics [MQTT-4.7]
    empty_topic,                     // zero-length topic name or filter [MQTT-4.7.3-1]
    wildcard_in_topic_name,          // '+' or '#' in a PUBLISH topic [MQTT-3.3.2-2]
    multi_level_wildcard_not_last,   // '#' not alone in the last level [MQTT-4.7.1-2]
    single_level_wildcard_not_alone, // '+' sharing its level [MQTT-4.7.1-3]
    // packet identifiers
    zero_packet_id,                  // [MQTT-2.3.1-1]
    // CONNECT [MQTT-3.1.2]
    invalid_protocol_name,           // not "MQTT"/4 or "MQIsdp"/3 [MQTT-3.1.2-1]
    unsupported_protocol_level,      // [MQTT-3.1.2-2], answered with CONNACK 0x01
    connect_reserved_flag,           // [MQTT-3.1.2-3]
    will_flags_without_will,         // will QoS/retain set with will flag 0 [MQTT-3.1.2-11, -13, -15]
    invalid_will_qos,                // will QoS 3 [MQTT-3.1.2-14]
    password_without_username,       // [MQTT-3.1.2-22]
    // CONNACK (client side)
    connack_reserved_flags,          // bits 7-1 of the acknowledge flags (section 3.2.2.1)
    invalid_connack_code,            // 6..255 are reserved (section 3.2.2.3)
    // SUBSCRIBE / SUBACK / UNSUBSCRIBE [MQTT-3.8, 3.9, 3.10]
    no_subscriptions,                // SUBSCRIBE without a topic filter [MQTT-3.8.3-3]
    subscription_reserved_bits,      // requested QoS byte upper bits or QoS 3 [MQTT-3.8.3-4]
    invalid_suback_code,             // [MQTT-3.9.3-2]
    no_unsubscriptions,              // UNSUBSCRIBE without a topic filter [MQTT-3.10.3-2]
    // fixed header, appended so the values above keep their numbers
    dup_on_qos0,                     // PUBLISH DUP flag set on QoS 0 [MQTT-3.3.1-2]
};

const std::error_category& protocol_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}

// The CONNACK a server sends before closing, where the spec names one; nullopt: close without CONNACK.
std::optional<connack_code> connack_for(errc e) noexcept;

}  // namespace mqttd::protocol

template <>
struct std::is_error_code_enum<mqttd::protocol::errc> : std::true_type {};
