// One byte-exact failing input for every error the decoder can produce. Each input is also fed one byte at
// a time, which must give the same error and no packet.
#include "protocol/decoder.hpp"

#include <array>
#include <cstdint>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"
#include "packet_text.hpp"
#include "protocol/errc.hpp"

namespace protocol = mqttd::protocol;
using protocol::errc;
using protocol::test::byte_vector;

namespace {

void expect_error(const byte_vector& bytes, errc expected, std::size_t max_packet_size = 1024) {
    const protocol::decoder d{max_packet_size};
    protocol::packet p;
    std::error_code ec;
    CHECK(d.next(bytes, p, ec) == 0);
    CHECK(ec == expected);
    CHECK(ec.category() == protocol::protocol_category());

    const auto bytewise = protocol::test::feed_bytewise(d, bytes);
    CHECK(bytewise.ec == expected);
    CHECK(bytewise.packets.empty());
}

// CONNECT with the given protocol name field, level, flags and payload; keep alive 0.
byte_vector connect_bytes(const byte_vector& name_and_level, std::uint8_t flags, const byte_vector& payload) {
    // Built by push_back: g++ 12 -O2 misreports vector::insert of small ranges here (-Warray-bounds).
    byte_vector bytes{0x10, 0x00};
    for (const auto b : name_and_level) bytes.push_back(b);
    for (const std::uint8_t b : {flags, std::uint8_t{0x00}, std::uint8_t{0x00}}) bytes.push_back(b);
    for (const auto b : payload) bytes.push_back(b);
    bytes[1] = static_cast<std::uint8_t>(bytes.size() - 2);
    return bytes;
}

const byte_vector mqtt4{0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04};
const byte_vector empty_id{0x00, 0x00};

}  // namespace

// --- fixed header ---

TEST_CASE("decoder errors: a remaining length over 4 bytes, or in more bytes than it needs (section 2.2.3)") {
    expect_error({0x30, 0xFF, 0xFF, 0xFF, 0xFF}, errc::malformed_remaining_length);
    expect_error({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, errc::malformed_remaining_length, 1U << 30);
    // Non-minimal: 0 in two bytes, 2 in two bytes, 128 in three (MQTT 5 [MQTT-1.5.5-1]; see README).
    expect_error({0xC0, 0x80, 0x00}, errc::malformed_remaining_length);
    expect_error({0x40, 0x82, 0x00, 0x00, 0x01}, errc::malformed_remaining_length);
    expect_error({0x30, 0x80, 0x81, 0x00}, errc::malformed_remaining_length);
}

TEST_CASE("decoder errors: packet_too_large with only the fixed header present") {
    expect_error({0x30, 0x7F}, errc::packet_too_large, 100);
    expect_error({0x30, 0xFF, 0xFF, 0xFF, 0x7F}, errc::packet_too_large);
}

TEST_CASE("decoder errors: packet types 0 and 15 are reserved (section 2.2.1)") {
    expect_error({0x00, 0x00}, errc::invalid_packet_type);
    expect_error({0xF0, 0x00}, errc::invalid_packet_type);
    expect_error({0x00}, errc::invalid_packet_type);  // known from the first byte
}

TEST_CASE("decoder errors: reserved fixed-header flags [MQTT-2.2.2-2]") {
    expect_error({0x11, 0x00}, errc::reserved_flags);              // CONNECT
    expect_error({0x28, 0x02, 0x00, 0x00}, errc::reserved_flags);  // CONNACK
    expect_error({0x42, 0x02, 0x00, 0x01}, errc::reserved_flags);  // PUBACK
    expect_error({0x60, 0x02, 0x00, 0x01}, errc::reserved_flags);  // PUBREL needs 0b0010 [MQTT-3.6.1-1]
    expect_error({0x63, 0x02, 0x00, 0x01}, errc::reserved_flags);
    expect_error({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x00}, errc::reserved_flags);  // [MQTT-3.8.1-1]
    expect_error({0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, 't'}, errc::reserved_flags);        // [MQTT-3.10.1-1]
    expect_error({0xC1, 0x00}, errc::reserved_flags);                                     // PINGREQ
    expect_error({0xE8}, errc::reserved_flags);  // DISCONNECT, known from the first byte
}

TEST_CASE("decoder errors: PUBLISH with both QoS bits set [MQTT-3.3.1-4]") {
    expect_error({0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}, errc::invalid_qos);
}

TEST_CASE("decoder errors: PUBLISH with DUP on QoS 0 [MQTT-3.3.1-2]") {
    expect_error({0x38, 0x03, 0x00, 0x01, 'a'}, errc::dup_on_qos0);
}

// --- body shape ---

TEST_CASE("decoder errors: truncated_packet when a field runs past the remaining length") {
    expect_error({0x30, 0x02, 0x00, 0x05}, errc::truncated_packet);             // topic longer than body
    expect_error({0x30, 0x01, 0x00}, errc::truncated_packet);                   // topic length cut in half
    expect_error({0x32, 0x04, 0x00, 0x01, 't', 0x00}, errc::truncated_packet);  // packet id cut in half
    expect_error({0x40, 0x01, 0x01}, errc::truncated_packet);                   // PUBACK length 1
    expect_error({0x20, 0x01, 0x00}, errc::truncated_packet);                   // CONNACK length 1
    expect_error({0xB0, 0x00}, errc::truncated_packet);                         // UNSUBACK length 0
    expect_error({0x90, 0x02, 0x00, 0x01}, errc::truncated_packet);             // SUBACK with no code
    expect_error({0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 't'}, errc::truncated_packet);  // missing QoS byte
    expect_error(connect_bytes(mqtt4, 0x02, {}), errc::truncated_packet);             // missing client id
    expect_error(connect_bytes(mqtt4, 0x82, {0x00, 0x00}), errc::truncated_packet);   // missing username
    expect_error({0x10, 0x03, 0x00, 0x04, 'M'}, errc::truncated_packet);              // protocol name
}

TEST_CASE("decoder errors: trailing_bytes after the last field") {
    expect_error({0xC0, 0x01, 0x00}, errc::trailing_bytes);  // PINGREQ (section 3.12)
    expect_error({0xD0, 0x01, 0x00}, errc::trailing_bytes);  // PINGRESP
    expect_error({0xE0, 0x01}, errc::trailing_bytes);        // DISCONNECT, known from the header
    expect_error({0x50, 0x03, 0x00, 0x01, 0x00}, errc::trailing_bytes);
    expect_error({0x20, 0x03, 0x00, 0x00, 0x00}, errc::trailing_bytes);
    expect_error(connect_bytes(mqtt4, 0x02, {0x00, 0x00, 0x00}), errc::trailing_bytes);
}

// --- strings (section 1.5.3) ---

TEST_CASE("decoder errors: ill-formed UTF-8 in a topic, client id and username [MQTT-1.5.3-1]") {
    expect_error({0x30, 0x04, 0x00, 0x02, 0xC3, 0x28}, errc::invalid_utf8);
    expect_error(connect_bytes(mqtt4, 0x02, {0x00, 0x01, 0xFF}), errc::invalid_utf8);
    expect_error(connect_bytes(mqtt4, 0x82, {0x00, 0x00, 0x00, 0x02, 0xC0, 0x80}), errc::invalid_utf8);
}

TEST_CASE("decoder errors: surrogate code point in a filter [MQTT-1.5.3-1]") {
    expect_error({0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00}, errc::utf8_surrogate);
}

TEST_CASE("decoder errors: U+0000 in a topic [MQTT-1.5.3-2]") {
    expect_error({0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b'}, errc::utf8_null_character);
}

// --- topics ---

TEST_CASE("decoder errors: empty PUBLISH topic and empty filter [MQTT-4.7.3-1]") {
    expect_error({0x30, 0x02, 0x00, 0x00}, errc::empty_topic);
    expect_error({0xA2, 0x04, 0x00, 0x01, 0x00, 0x00}, errc::empty_topic);
    expect_error({0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}, errc::empty_topic);
}

TEST_CASE("decoder errors: wildcard in a PUBLISH topic or will topic [MQTT-3.3.2-2]") {
    expect_error({0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}, errc::wildcard_in_topic_name);
    expect_error({0x30, 0x03, 0x00, 0x01, '#'}, errc::wildcard_in_topic_name);
    expect_error(connect_bytes(mqtt4, 0x06, {0x00, 0x00, 0x00, 0x01, '#', 0x00, 0x00}),
                 errc::wildcard_in_topic_name);
}

TEST_CASE("decoder errors: '#' not last in a filter [MQTT-4.7.1-2]") {
    expect_error({0x82, 0x08, 0x00, 0x01, 0x00, 0x03, '#', '/', 'a', 0x00},
                 errc::multi_level_wildcard_not_last);
    expect_error({0xA2, 0x06, 0x00, 0x01, 0x00, 0x02, 'a', '#'}, errc::multi_level_wildcard_not_last);
}

TEST_CASE("decoder errors: '+' sharing its level [MQTT-4.7.1-3]") {
    expect_error({0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 'a', '+', 0x00}, errc::single_level_wildcard_not_alone);
}

// --- packet identifiers [MQTT-2.3.1-1] ---

TEST_CASE("decoder errors: packet id 0 where an id is required [MQTT-2.3.1-1]") {
    expect_error({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}, errc::zero_packet_id);  // PUBLISH QoS 1
    expect_error({0x34, 0x05, 0x00, 0x01, 't', 0x00, 0x00}, errc::zero_packet_id);  // PUBLISH QoS 2
    for (const std::uint8_t first : std::array<std::uint8_t, 5>{0x40, 0x50, 0x62, 0x70, 0xB0}) {
        CAPTURE(first);
        expect_error({first, 0x02, 0x00, 0x00}, errc::zero_packet_id);
    }
    expect_error({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 't', 0x00}, errc::zero_packet_id);
    expect_error({0x90, 0x03, 0x00, 0x00, 0x00}, errc::zero_packet_id);
    expect_error({0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 't'}, errc::zero_packet_id);
}

// --- CONNECT (section 3.1.2) ---

TEST_CASE("decoder errors: unknown protocol name [MQTT-3.1.2-1]") {
    expect_error(connect_bytes({0x00, 0x04, 'M', 'Q', 'T', 't', 0x04}, 0x02, empty_id),
                 errc::invalid_protocol_name);
    expect_error(connect_bytes({0x00, 0x00, 0x04}, 0x02, empty_id), errc::invalid_protocol_name);
    // The name is judged before the level.
    expect_error(connect_bytes({0x00, 0x03, 'M', 'Q', 'T', 0x03}, 0x02, empty_id),
                 errc::invalid_protocol_name);
}

TEST_CASE("decoder errors: known name with the wrong level is unsupported_protocol_level [MQTT-3.1.2-2]") {
    expect_error(connect_bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x03}, 0x02, empty_id),
                 errc::unsupported_protocol_level);
    expect_error(connect_bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05}, 0x02, empty_id),
                 errc::unsupported_protocol_level);
    expect_error(connect_bytes({0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x04}, 0x02, empty_id),
                 errc::unsupported_protocol_level);
}

TEST_CASE("decoder errors: CONNECT reserved flag set [MQTT-3.1.2-3]") {
    expect_error(connect_bytes(mqtt4, 0x03, empty_id), errc::connect_reserved_flag);
}

TEST_CASE("decoder errors: will QoS or retain without will flag [MQTT-3.1.2-13] [MQTT-3.1.2-15]") {
    expect_error(connect_bytes(mqtt4, 0x0A, empty_id), errc::will_flags_without_will);  // QoS 1
    expect_error(connect_bytes(mqtt4, 0x22, empty_id), errc::will_flags_without_will);  // retain
}

TEST_CASE("decoder errors: will QoS 3 [MQTT-3.1.2-14]") {
    expect_error(connect_bytes(mqtt4, 0x1E, {0x00, 0x00, 0x00, 0x01, 'w', 0x00, 0x00}),
                 errc::invalid_will_qos);
}

TEST_CASE("decoder errors: password flag without username flag [MQTT-3.1.2-22]") {
    expect_error(connect_bytes(mqtt4, 0x42, {0x00, 0x00, 0x00, 0x00}), errc::password_without_username);
}

// --- CONNACK (section 3.2.2) ---

TEST_CASE("decoder errors: CONNACK acknowledge flags bits 7-1 set (section 3.2.2.1)") {
    expect_error({0x20, 0x02, 0x02, 0x00}, errc::connack_reserved_flags);
}

TEST_CASE("decoder errors: CONNACK return code above 5 (section 3.2.2.3)") {
    expect_error({0x20, 0x02, 0x00, 0x06}, errc::invalid_connack_code);
}

// --- SUBSCRIBE / SUBACK / UNSUBSCRIBE ---

TEST_CASE("decoder errors: SUBSCRIBE without a filter [MQTT-3.8.3-3]") {
    expect_error({0x82, 0x02, 0x00, 0x01}, errc::no_subscriptions);
}

TEST_CASE("decoder errors: SUBSCRIBE requested QoS reserved bits or QoS 3 [MQTT-3.8.3-4]") {
    expect_error({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x03}, errc::subscription_reserved_bits);
    expect_error({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x04}, errc::subscription_reserved_bits);
    expect_error({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x81}, errc::subscription_reserved_bits);
}

TEST_CASE("decoder errors: SUBACK return code other than 0, 1, 2, 0x80 [MQTT-3.9.3-2]") {
    expect_error({0x90, 0x03, 0x00, 0x01, 0x03}, errc::invalid_suback_code);
    expect_error({0x90, 0x04, 0x00, 0x01, 0x00, 0x81}, errc::invalid_suback_code);
}

TEST_CASE("decoder errors: UNSUBSCRIBE without a filter [MQTT-3.10.3-2]") {
    expect_error({0xA2, 0x02, 0x00, 0x01}, errc::no_unsubscriptions);
}

TEST_CASE("decoder errors: the first error in stream order wins") {
    // A QoS of 3 in the first byte beats the too-large remaining length that follows.
    expect_error({0x3F, 0xFF, 0xFF, 0xFF, 0x7F}, errc::invalid_qos, 10);
    // A bad protocol level is reported although the flags after it are also wrong.
    expect_error(connect_bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x03}, 0x01, empty_id),
                 errc::unsupported_protocol_level);
}
