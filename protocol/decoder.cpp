#include "protocol/decoder.hpp"

#include <utility>

#include "protocol/errc.hpp"
#include "protocol/reader.hpp"
#include "protocol/topic.hpp"

namespace mqttd::protocol {
namespace {

using detail::reader;

// Section 2.2.1, [MQTT-2.2.2-1] and [MQTT-2.2.2-2]: the first byte alone decides these, so they are reported
// as soon as it arrives.
std::error_code check_first_byte(std::uint8_t first_byte) noexcept {
    const auto type = first_byte >> 4;
    const auto flags = first_byte & 0x0F;
    if (type == 0 || type == 15) return errc::invalid_packet_type;
    switch (static_cast<packet_type>(type)) {
    case packet_type::publish: {
        const auto qos_bits = (flags >> 1) & 0x03;
        if (qos_bits == 3) return errc::invalid_qos;                         // [MQTT-3.3.1-4]
        if (qos_bits == 0 && (flags & 0x08) != 0) return errc::dup_on_qos0;  // [MQTT-3.3.1-2]
        return {};
    }
    case packet_type::pubrel:       // [MQTT-3.6.1-1]
    case packet_type::subscribe:    // [MQTT-3.8.1-1]
    case packet_type::unsubscribe:  // [MQTT-3.10.1-1]
        return flags == 0x02 ? std::error_code{} : errc::reserved_flags;
    default: return flags == 0 ? std::error_code{} : errc::reserved_flags;
    }
}

// Packets whose remaining length the spec fixes: known wrong from the fixed header, before the body.
std::error_code check_fixed_length(std::uint8_t first_byte, std::size_t remaining_length) noexcept {
    std::size_t expected = 0;
    switch (static_cast<packet_type>(first_byte >> 4)) {
    case packet_type::connack:  // section 3.2: flags + return code
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp:
    case packet_type::unsuback:  // packet identifier only
        expected = 2;
        break;
    case packet_type::pingreq:
    case packet_type::pingresp:
    case packet_type::disconnect:  // sections 3.12-3.14: no variable header, no payload
        expected = 0;
        break;
    default: return {};
    }
    if (remaining_length < expected) return errc::truncated_packet;
    if (remaining_length > expected) return errc::trailing_bytes;
    return {};
}

std::error_code read_packet_id(reader& r, packet_id& out) noexcept {
    if (auto ec = r.read_u16(out)) return ec;
    if (out == 0) return errc::zero_packet_id;  // [MQTT-2.3.1-1]
    return {};
}

std::error_code finish(const reader& r) noexcept {
    return r.is_empty() ? std::error_code{} : errc::trailing_bytes;
}

std::error_code decode_connect(reader& r, packet& out) {
    connect c;
    // [MQTT-3.1.2-1] the name is compared as bytes: anything but the two known names is wrong whatever its
    // encoding. The level is only judged against the name it came with.
    bytes_view name;
    std::uint8_t level = 0;
    if (auto ec = r.read_binary(name)) return ec;
    if (auto ec = r.read_u8(level)) return ec;
    const std::string_view name_text{reinterpret_cast<const char*>(name.data()), name.size()};
    if (name_text == "MQTT") {
        if (level != 4) return errc::unsupported_protocol_level;  // [MQTT-3.1.2-2]
        c.version = protocol_version::v3_1_1;
    } else if (name_text == "MQIsdp") {
        if (level != 3) return errc::unsupported_protocol_level;
        c.version = protocol_version::v3_1;
    } else {
        return errc::invalid_protocol_name;
    }

    std::uint8_t flags = 0;
    if (auto ec = r.read_u8(flags)) return ec;
    const bool has_username = (flags & 0x80) != 0;
    const bool has_password = (flags & 0x40) != 0;
    const bool will_retain = (flags & 0x20) != 0;
    const auto will_qos = static_cast<std::uint8_t>((flags >> 3) & 0x03);
    const bool has_will = (flags & 0x04) != 0;
    c.clean_session = (flags & 0x02) != 0;
    if ((flags & 0x01) != 0) return errc::connect_reserved_flag;  // [MQTT-3.1.2-3]
    // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15] no will: will QoS and retain are 0.
    if (!has_will && (will_qos != 0 || will_retain)) return errc::will_flags_without_will;
    if (will_qos == 3) return errc::invalid_will_qos;                           // [MQTT-3.1.2-14]
    if (has_password && !has_username) return errc::password_without_username;  // [MQTT-3.1.2-22]
    if (auto ec = r.read_u16(c.keep_alive)) return ec;

    // [MQTT-3.1.3-1] payload fields in this order, each present exactly when its flag says so. The client id
    // may be any length here: accepting or rejecting it is the session's policy [MQTT-3.1.3-5..-9].
    if (auto ec = r.read_string(c.client_id)) return ec;
    if (has_will) {
        will w;
        w.qos_level = static_cast<qos>(will_qos);
        w.retain = will_retain;
        if (auto ec = r.read_string(w.topic)) return ec;
        if (auto ec = validate_topic_name(w.topic)) return ec;  // [MQTT-3.1.3-10]
        if (auto ec = r.read_binary(w.payload)) return ec;
        c.last_will = w;
    }
    if (has_username) {
        std::string_view username;
        if (auto ec = r.read_string(username)) return ec;  // [MQTT-3.1.3-11]
        c.username = username;
    }
    if (has_password) {
        bytes_view password;  // binary data, not UTF-8 (section 3.1.3.5)
        if (auto ec = r.read_binary(password)) return ec;
        c.password = password;
    }
    if (auto ec = finish(r)) return ec;
    out = std::move(c);
    return {};
}

std::error_code decode_connack(reader& r, packet& out) {
    std::uint8_t flags = 0;
    std::uint8_t code = 0;
    if (auto ec = r.read_u8(flags)) return ec;
    if (auto ec = r.read_u8(code)) return ec;
    if ((flags & 0xFE) != 0) return errc::connack_reserved_flags;  // section 3.2.2.1
    if (code > 5) return errc::invalid_connack_code;               // section 3.2.2.3: 6..255 reserved
    out = connack{(flags & 0x01) != 0, static_cast<connack_code>(code)};
    return finish(r);
}

std::error_code decode_publish(std::uint8_t first_byte, reader& r, packet& out) {
    publish p;
    p.dup = (first_byte & 0x08) != 0;
    p.qos_level = static_cast<qos>((first_byte >> 1) & 0x03);
    p.retain = (first_byte & 0x01) != 0;
    if (auto ec = r.read_string(p.topic)) return ec;
    if (auto ec = validate_topic_name(p.topic)) return ec;  // [MQTT-3.3.2-1] [MQTT-3.3.2-2]
    // [MQTT-2.3.1-5] the identifier is on the wire only for QoS 1 and 2.
    if (p.qos_level != qos::at_most_once) {
        if (auto ec = read_packet_id(r, p.id)) return ec;
    }
    p.payload = r.read_rest();  // the payload is whatever is left, possibly nothing (section 3.3.3)
    out = p;
    return {};
}

template <class Ack>
std::error_code decode_ack(reader& r, packet& out) {
    Ack a;
    if (auto ec = read_packet_id(r, a.id)) return ec;
    out = a;
    return finish(r);
}

std::error_code decode_subscribe(reader& r, packet& out) {
    subscribe s;
    // Reuse the caller's vector when it already holds a SUBSCRIBE: a connection decoding into one packet
    // variable then allocates only when a packet carries more filters than any before it.
    if (auto* previous = std::get_if<subscribe>(&out)) s.subscriptions = std::move(previous->subscriptions);
    s.subscriptions.clear();
    if (auto ec = read_packet_id(r, s.id)) return ec;
    if (r.is_empty()) return errc::no_subscriptions;  // [MQTT-3.8.3-3]
    while (!r.is_empty()) {
        subscription sub;
        std::uint8_t options = 0;
        if (auto ec = r.read_string(sub.filter)) return ec;
        if (auto ec = validate_topic_filter(sub.filter)) return ec;
        if (auto ec = r.read_u8(options)) return ec;
        // [MQTT-3.8.3-4] upper six bits reserved, QoS 3 not allowed.
        if ((options & 0xFC) != 0 || options == 3) return errc::subscription_reserved_bits;
        sub.requested = static_cast<qos>(options);
        s.subscriptions.push_back(sub);
    }
    out = std::move(s);
    return {};
}

std::error_code decode_suback(reader& r, packet& out) {
    suback s;
    if (auto* previous = std::get_if<suback>(&out)) s.return_codes = std::move(previous->return_codes);
    s.return_codes.clear();
    if (auto ec = read_packet_id(r, s.id)) return ec;
    // One return code per requested filter, and a SUBSCRIBE has at least one [MQTT-3.8.3-3].
    if (r.is_empty()) return errc::truncated_packet;
    const auto codes = r.read_rest();
    for (const auto code : codes) {
        if (code > 2 && code != suback_failure) return errc::invalid_suback_code;  // [MQTT-3.9.3-2]
    }
    s.return_codes.assign(codes.begin(), codes.end());
    out = std::move(s);
    return {};
}

std::error_code decode_unsubscribe(reader& r, packet& out) {
    unsubscribe u;
    if (auto* previous = std::get_if<unsubscribe>(&out)) u.filters = std::move(previous->filters);
    u.filters.clear();
    if (auto ec = read_packet_id(r, u.id)) return ec;
    if (r.is_empty()) return errc::no_unsubscriptions;  // [MQTT-3.10.3-2]
    while (!r.is_empty()) {
        std::string_view filter;
        if (auto ec = r.read_string(filter)) return ec;
        if (auto ec = validate_topic_filter(filter)) return ec;
        u.filters.push_back(filter);
    }
    out = std::move(u);
    return {};
}

std::error_code decode_body(std::uint8_t first_byte, bytes_view body, packet& out) {
    reader r{body};
    switch (static_cast<packet_type>(first_byte >> 4)) {
    case packet_type::connect: return decode_connect(r, out);
    case packet_type::connack: return decode_connack(r, out);
    case packet_type::publish: return decode_publish(first_byte, r, out);
    case packet_type::puback: return decode_ack<puback>(r, out);
    case packet_type::pubrec: return decode_ack<pubrec>(r, out);
    case packet_type::pubrel: return decode_ack<pubrel>(r, out);
    case packet_type::pubcomp: return decode_ack<pubcomp>(r, out);
    case packet_type::subscribe: return decode_subscribe(r, out);
    case packet_type::suback: return decode_suback(r, out);
    case packet_type::unsubscribe: return decode_unsubscribe(r, out);
    case packet_type::unsuback: return decode_ack<unsuback>(r, out);
    case packet_type::pingreq: out = pingreq{}; return {};
    case packet_type::pingresp: out = pingresp{}; return {};
    case packet_type::disconnect: out = disconnect{}; return {};
    }
    return errc::invalid_packet_type;  // unreachable: check_first_byte rejected 0 and 15
}

}  // namespace

decoder::decoder(std::size_t max_packet_size) noexcept : max_packet_size_{max_packet_size} {}

std::size_t decoder::peek_header(std::span<const std::uint8_t> in, frame_header& out,
                                 std::error_code& ec) const {
    ec.clear();
    if (in.empty()) return 0;
    if ((ec = check_first_byte(in[0]))) return 0;
    // Section 2.2.3: 7 bits per byte, least significant first, at most four bytes: a fourth byte that still
    // says "more follows" is malformed as soon as it arrives. So is a length in more bytes than it needs (a
    // last byte of 0 after the first): 3.1.1 shows only the minimal encoding, MQTT 5 makes it a MUST
    // [MQTT-1.5.5-1], and with one encoding per length no two parsers can disagree (README: Limits).
    std::size_t value = 0;
    std::size_t header_size = 0;
    for (std::size_t i = 1; i <= 4; ++i) {
        if (in.size() <= i) return 0;
        const auto byte = in[i];
        value |= static_cast<std::size_t>(byte & 0x7F) << (7 * (i - 1));
        if ((byte & 0x80) == 0) {
            header_size = byte == 0 && i > 1 ? 0 : i + 1;
            break;
        }
    }
    if (header_size == 0) {
        ec = errc::malformed_remaining_length;
        return 0;
    }
    // Checked before the body is buffered: a client cannot make us wait for (or allocate) more than this.
    if (header_size + value > max_packet_size_) {
        ec = errc::packet_too_large;
        return 0;
    }
    if ((ec = check_fixed_length(in[0], value))) return 0;
    out = frame_header{in[0], header_size, value};
    return header_size;
}

std::size_t decoder::next(std::span<const std::uint8_t> in, packet& out, std::error_code& ec) const {
    frame_header header;
    if (peek_header(in, header, ec) == 0) return 0;
    if (in.size() < header.total()) return 0;
    if ((ec = decode_body(header.first_byte, in.subspan(header.header_size, header.remaining_length), out)))
        return 0;
    return header.total();
}

}  // namespace mqttd::protocol
