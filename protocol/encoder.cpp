#include "protocol/encoder.hpp"

#include <algorithm>
#include <cassert>
#include <concepts>
#include <string_view>

namespace mqttd::protocol {
namespace {

// A cursor over a buffer whose size encoded_size() has already computed, so writes need no bounds checks.
class writer {
public:
    explicit writer(std::uint8_t* out) noexcept : out_{out} {}

    void u8(std::uint8_t v) noexcept { *out_++ = v; }

    // Big-endian (section 1.5.2).
    void u16(std::uint16_t v) noexcept {
        *out_++ = static_cast<std::uint8_t>(v >> 8);
        *out_++ = static_cast<std::uint8_t>(v & 0xFF);
    }

    void raw(bytes_view b) noexcept { out_ = std::copy(b.begin(), b.end(), out_); }

    // Two-byte length, then the bytes (section 1.5.3). Callers keep fields within 65535 bytes (see
    // encoder.hpp).
    void binary(bytes_view b) noexcept {
        assert(b.size() <= 0xFFFF);
        u16(static_cast<std::uint16_t>(b.size()));
        raw(b);
    }
    void string(std::string_view s) noexcept {
        binary(bytes_view{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
    }

    std::uint8_t* position() const noexcept { return out_; }

private:
    std::uint8_t* out_;
};

constexpr std::size_t field(std::string_view s) noexcept { return 2 + s.size(); }
constexpr std::size_t field(bytes_view b) noexcept { return 2 + b.size(); }

std::string_view protocol_name(protocol_version v) noexcept {
    return v == protocol_version::v3_1 ? "MQIsdp" : "MQTT";
}

template <class T>
concept id_only_packet = std::same_as<T, puback> || std::same_as<T, pubrec> || std::same_as<T, pubrel> ||
    std::same_as<T, pubcomp> || std::same_as<T, unsuback>;
template <class T>
concept empty_packet = std::same_as<T, pingreq> || std::same_as<T, pingresp> || std::same_as<T, disconnect>;

// --- remaining length of each packet ---

std::size_t body_size(const connect& c) noexcept {
    std::size_t n = field(protocol_name(c.version)) + 1 + 1 + 2 + field(c.client_id);
    if (c.last_will) n += field(c.last_will->topic) + field(c.last_will->payload);
    if (c.username) n += field(*c.username);
    if (c.password) n += field(*c.password);
    return n;
}
std::size_t body_size(const connack&) noexcept { return 2; }
std::size_t body_size(const publish& p) noexcept {
    return field(p.topic) + (p.qos_level == qos::at_most_once ? 0 : 2) + p.payload.size();
}
std::size_t body_size(const subscribe& s) noexcept {
    std::size_t n = 2;
    for (const auto& sub : s.subscriptions) n += field(sub.filter) + 1;
    return n;
}
std::size_t body_size(const suback& s) noexcept { return 2 + s.return_codes.size(); }
std::size_t body_size(const unsubscribe& u) noexcept {
    std::size_t n = 2;
    for (const auto filter : u.filters) n += field(filter);
    return n;
}
std::size_t body_size(const id_only_packet auto&) noexcept { return 2; }
std::size_t body_size(const empty_packet auto&) noexcept { return 0; }

// --- first byte: type and the flags [MQTT-2.2.2-1] requires ---

template <class Packet>
std::uint8_t first_byte(const Packet&, packet_type type) noexcept {
    return static_cast<std::uint8_t>(static_cast<unsigned>(type) << 4);
}
std::uint8_t first_byte(const publish& p, packet_type) noexcept {
    return static_cast<std::uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (static_cast<unsigned>(p.qos_level) << 1) |
                                     (p.retain ? 0x01 : 0));
}
std::uint8_t first_byte(const pubrel&, packet_type) noexcept { return 0x62; }
std::uint8_t first_byte(const subscribe&, packet_type) noexcept { return 0x82; }
std::uint8_t first_byte(const unsubscribe&, packet_type) noexcept { return 0xA2; }

// --- variable header and payload ---

void write_body(writer& w, const connect& c) noexcept {
    w.string(protocol_name(c.version));
    w.u8(static_cast<std::uint8_t>(c.version));
    unsigned flags = 0;
    if (c.username) flags |= 0x80;
    if (c.password) flags |= 0x40;
    if (c.last_will) {
        flags |= 0x04 | (static_cast<unsigned>(c.last_will->qos_level) << 3);
        if (c.last_will->retain) flags |= 0x20;
    }
    if (c.clean_session) flags |= 0x02;
    w.u8(static_cast<std::uint8_t>(flags));
    w.u16(c.keep_alive);
    w.string(c.client_id);
    if (c.last_will) {
        w.string(c.last_will->topic);
        w.binary(c.last_will->payload);
    }
    if (c.username) w.string(*c.username);
    if (c.password) w.binary(*c.password);
}
void write_body(writer& w, const connack& c) noexcept {
    w.u8(c.session_present ? 0x01 : 0x00);
    w.u8(static_cast<std::uint8_t>(c.code));
}
void write_body(writer& w, const publish& p) noexcept {
    w.string(p.topic);
    if (p.qos_level != qos::at_most_once) w.u16(p.id);  // [MQTT-2.3.1-5]
    w.raw(p.payload);
}
void write_body(writer& w, const subscribe& s) noexcept {
    w.u16(s.id);
    for (const auto& sub : s.subscriptions) {
        w.string(sub.filter);
        w.u8(static_cast<std::uint8_t>(sub.requested));
    }
}
void write_body(writer& w, const suback& s) noexcept {
    w.u16(s.id);
    w.raw(s.return_codes);
}
void write_body(writer& w, const unsubscribe& u) noexcept {
    w.u16(u.id);
    for (const auto filter : u.filters) w.string(filter);
}
void write_body(writer& w, const id_only_packet auto& a) noexcept { w.u16(a.id); }
void write_body(writer&, const empty_packet auto&) noexcept {}

std::size_t remaining_length_of(const packet& p) noexcept {
    return std::visit([](const auto& v) { return body_size(v); }, p);
}

}  // namespace

std::size_t remaining_length_size(std::size_t value) noexcept {
    if (value < 128) return 1;
    if (value < 16'384) return 2;
    if (value < 2'097'152) return 3;
    return 4;
}

std::size_t encode_remaining_length(std::size_t value, std::uint8_t* out) noexcept {
    // Section 2.2.3: 7 bits per byte, least significant first, high bit set when more follow.
    std::size_t n = 0;
    do {
        auto byte = static_cast<std::uint8_t>(value & 0x7F);
        value >>= 7;
        if (value > 0) byte |= 0x80;
        out[n++] = byte;
    } while (value > 0);
    return n;
}

std::size_t encoded_size(const packet& p) {
    const auto remaining = remaining_length_of(p);
    return 1 + remaining_length_size(remaining) + remaining;
}

void encode(const packet& p, std::span<std::uint8_t> out) {
    const auto remaining = remaining_length_of(p);
    assert(out.size() == 1 + remaining_length_size(remaining) + remaining);
    out[0] = std::visit([&](const auto& v) { return first_byte(v, type_of(p)); }, p);
    writer w{out.data() + 1 + encode_remaining_length(remaining, out.data() + 1)};
    std::visit([&](const auto& v) { write_body(w, v); }, p);
    assert(w.position() == out.data() + out.size());
}

std::vector<std::uint8_t> encode(const packet& p) {
    std::vector<std::uint8_t> bytes(encoded_size(p));
    encode(p, bytes);
    return bytes;
}

}  // namespace mqttd::protocol
