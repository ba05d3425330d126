#include "protocol/errc.hpp"

#include <string>

namespace mqttd::protocol {
namespace {

const char* describe(errc e) noexcept {
    switch (e) {
    case errc::malformed_remaining_length: return "malformed remaining length";
    case errc::packet_too_large: return "packet larger than the maximum packet size";
    case errc::invalid_packet_type: return "invalid packet type";
    case errc::reserved_flags: return "reserved fixed-header flags are wrong";
    case errc::invalid_qos: return "invalid QoS";
    case errc::truncated_packet: return "field runs past the remaining length";
    case errc::trailing_bytes: return "bytes left after the last field";
    case errc::invalid_utf8: return "ill-formed UTF-8 string";
    case errc::utf8_surrogate: return "UTF-8 string contains a surrogate code point";
    case errc::utf8_null_character: return "UTF-8 string contains U+0000";
    case errc::string_too_long: return "string longer than 65535 bytes";
    case errc::empty_topic: return "empty topic";
    case errc::wildcard_in_topic_name: return "wildcard in topic name";
    case errc::multi_level_wildcard_not_last: return "'#' is not alone in the last topic level";
    case errc::single_level_wildcard_not_alone: return "'+' is not alone in its topic level";
    case errc::zero_packet_id: return "packet identifier 0";
    case errc::invalid_protocol_name: return "invalid protocol name";
    case errc::unsupported_protocol_level: return "unsupported protocol level";
    case errc::connect_reserved_flag: return "CONNECT reserved flag set";
    case errc::will_flags_without_will: return "will QoS or retain set without will flag";
    case errc::invalid_will_qos: return "invalid will QoS";
    case errc::password_without_username: return "password flag set without username flag";
    case errc::connack_reserved_flags: return "CONNACK reserved flags set";
    case errc::invalid_connack_code: return "invalid CONNACK return code";
    case errc::no_subscriptions: return "SUBSCRIBE without topic filters";
    case errc::subscription_reserved_bits: return "SUBSCRIBE requested QoS byte invalid";
    case errc::invalid_suback_code: return "invalid SUBACK return code";
    case errc::no_unsubscriptions: return "UNSUBSCRIBE without topic filters";
    case errc::dup_on_qos0: return "PUBLISH DUP flag set on QoS 0";
    }
    return "unknown protocol error";
}

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "mqtt"; }
    std::string message(int value) const override { return describe(static_cast<errc>(value)); }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
    static const category instance;
    return instance;
}

std::optional<connack_code> connack_for(errc e) noexcept {
    // [MQTT-3.1.2-2] the only CONNECT decode error the spec answers with a CONNACK; bad client ids and
    // credentials are decided by the session, not the decoder.
    if (e == errc::unsupported_protocol_level) return connack_code::unacceptable_protocol_version;
    return std::nullopt;
}

}  // namespace mqttd::protocol
