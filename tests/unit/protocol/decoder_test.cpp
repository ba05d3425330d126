// Decoder tests on well-formed input: fields, incremental behaviour, the size limit, and views.
#include "protocol/decoder.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"
#include "packet_text.hpp"
#include "protocol/errc.hpp"

namespace protocol = mqttd::protocol;
using protocol::test::byte_vector;
using protocol::test::to_text;

namespace {

struct decoded {
    std::size_t used = 0;
    std::error_code ec;
    protocol::packet packet;
};

decoded decode(protocol::bytes_view bytes, std::size_t max_packet_size = 1024) {
    decoded d;
    d.used = protocol::decoder{max_packet_size}.next(bytes, d.packet, d.ec);
    return d;
}

}  // namespace

TEST_CASE("decoder: CONNECT fields from the spec's example layout (section 3.1)") {
    // MQTT/4, flags: username, password, will retain, will QoS 1, will, clean session; keep alive 10.
    const byte_vector bytes{0x10, 0x21, 0x00, 0x04, 'M',  'Q', 'T', 'T', 0x04,
                            0xEE, 0x00, 0x0A, 0x00, 0x03, 'c', 'i', 'd',  // client id
                            0x00, 0x03, 'w',  '/',  't',                  // will topic
                            0x00, 0x02, 0x00, 0xFF,                       // will payload (binary)
                            0x00, 0x02, 'u',  's',                        // username
                            0x00, 0x03, 0x01, 0x00, 0x02};                // password (binary)
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    CHECK(d.used == bytes.size());
    const auto& c = std::get<protocol::connect>(d.packet);
    CHECK(c.version == protocol::protocol_version::v3_1_1);
    CHECK(c.clean_session);
    CHECK(c.keep_alive == 10);
    CHECK(c.client_id == "cid");
    REQUIRE(c.last_will);
    CHECK(c.last_will->topic == "w/t");
    CHECK(c.last_will->qos_level == protocol::qos::at_least_once);
    CHECK(c.last_will->retain);
    CHECK(byte_vector(c.last_will->payload.begin(), c.last_will->payload.end()) == byte_vector{0x00, 0xFF});
    REQUIRE(c.username);
    CHECK(*c.username == "us");
    REQUIRE(c.password);
    CHECK(byte_vector(c.password->begin(), c.password->end()) == byte_vector{0x01, 0x00, 0x02});
}

TEST_CASE("decoder: legacy MQIsdp level 3 CONNECT sets version 3.1") {
    const byte_vector bytes{0x10, 0x0E, 0x00, 0x06, 'M',  'Q',  'I',  's',
                            'd',  'p',  0x03, 0x00, 0x00, 0x05, 0x00, 0x00};
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    const auto& c = std::get<protocol::connect>(d.packet);
    CHECK(c.version == protocol::protocol_version::v3_1);
    CHECK_FALSE(c.clean_session);
    CHECK(c.keep_alive == 5);
    CHECK(c.client_id.empty());
    CHECK_FALSE(c.last_will);
    CHECK_FALSE(c.username);
    CHECK_FALSE(c.password);
}

TEST_CASE("decoder: a client id of any length is accepted, the session decides policy [MQTT-3.1.3-5]") {
    byte_vector bytes{0x10, 0x00, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x00, 0x00, 100};
    bytes.insert(bytes.end(), 100, 'z');
    bytes[1] = static_cast<std::uint8_t>(bytes.size() - 2);
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<protocol::connect>(d.packet).client_id.size() == 100);
}

TEST_CASE("decoder: PUBLISH topic and payload are views into the input") {
    const byte_vector bytes{0x32, 0x08, 0x00, 0x01, 't', 0x12, 0x34, 'a', 'b', 'c'};
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    CHECK(d.used == bytes.size());
    const auto& p = std::get<protocol::publish>(d.packet);
    CHECK(p.qos_level == protocol::qos::at_least_once);
    CHECK(p.id == 0x1234);
    CHECK(p.topic == "t");
    CHECK(reinterpret_cast<const std::uint8_t*>(p.topic.data()) == bytes.data() + 4);
    CHECK(p.payload.data() == bytes.data() + 7);
    CHECK(p.payload.size() == 3);
}

TEST_CASE("decoder: PUBLISH payload is the rest of the packet, never trailing bytes (section 3.3.3)") {
    const byte_vector bytes{0x30, 0x05, 0x00, 0x01, 't', 0x00, 0x00};
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    CHECK(to_text(d.packet) == "publish dup=0 qos=0 retain=0 topic='t' id=0 payload=[ 0 0 ]");
}

TEST_CASE("decoder: empty PUBLISH payload and retain flag") {
    const byte_vector bytes{0x31, 0x03, 0x00, 0x01, 't'};
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    CHECK(to_text(d.packet) == "publish dup=0 qos=0 retain=1 topic='t' id=0 payload=[ ]");
}

TEST_CASE("decoder: consumes exactly one packet and leaves the next") {
    const byte_vector bytes{0xC0, 0x00, 0xD0, 0x00, 0xE0};
    const auto d = decode(bytes);
    REQUIRE_FALSE(d.ec);
    CHECK(d.used == 2);
    CHECK(std::holds_alternative<protocol::pingreq>(d.packet));
}

TEST_CASE("decoder: returns 0 without error until the packet is complete") {
    const byte_vector bytes{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x01};
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CAPTURE(n);
        const auto d = decode(std::span{bytes}.first(n));
        CHECK(d.used == 0);
        CHECK_FALSE(d.ec);
    }
    const auto d = decode(bytes);
    CHECK(d.used == bytes.size());
    CHECK(to_text(d.packet) == "subscribe id=1 't':1");
}

TEST_CASE("decoder: packet_too_large comes from the fixed header alone, before the body") {
    // PUBLISH announcing 200 bytes of body; the limit is 100 for the whole packet.
    const byte_vector header{0x30, 0xC8, 0x01};
    const auto d = decode(header, 100);
    CHECK(d.ec == protocol::errc::packet_too_large);
    CHECK(d.used == 0);

    protocol::frame_header h;
    std::error_code ec;
    CHECK(protocol::decoder{100}.peek_header(header, h, ec) == 0);
    CHECK(ec == protocol::errc::packet_too_large);
}

TEST_CASE("decoder: the size limit counts the fixed header too") {
    // 2 header bytes + 98 body bytes = 100: allowed at 100, refused at 99.
    byte_vector bytes{0x30, 98, 0x00, 0x01, 't'};
    bytes.resize(100, 0xAB);
    CHECK_FALSE(decode(bytes, 100).ec);
    CHECK(decode(bytes, 100).used == 100);
    CHECK(decode(bytes, 99).ec == protocol::errc::packet_too_large);
}

TEST_CASE("decoder: peek_header reports the frame once the header is complete") {
    const byte_vector bytes{0x30, 0x80, 0x01};
    protocol::frame_header h;
    std::error_code ec;
    const protocol::decoder d;
    CHECK(d.peek_header(std::span{bytes}.first(2), h, ec) == 0);
    CHECK_FALSE(ec);
    CHECK(d.peek_header(bytes, h, ec) == 3);
    CHECK_FALSE(ec);
    CHECK(h.first_byte == 0x30);
    CHECK(h.header_size == 3);
    CHECK(h.remaining_length == 128);
    CHECK(h.total() == 131);
    CHECK(d.max_packet_size() == protocol::max_remaining_length + 5);
}

TEST_CASE("decoder: a remaining length in more bytes than it needs is refused (MQTT 5 [MQTT-1.5.5-1]; README)") {
    // 3.1.1 shows only the minimal encoding and says no more; with one encoding per length a packet cannot be
    // read two ways. decoder_errors_test.cpp has the refused forms; the minimal ones still decode.
    CHECK(decode(byte_vector{0xC0, 0x80, 0x00}).ec == protocol::errc::malformed_remaining_length);
    CHECK_FALSE(decode(byte_vector{0xC0, 0x00}).ec);
    byte_vector publish{0x30, 0x80, 0x01, 0x00, 0x01, 'a'};  // remaining length 128 = 0x80 0x01, minimal
    publish.resize(3 + 128, 'x');
    const auto d = decode(publish);
    CHECK_FALSE(d.ec);
    CHECK(d.used == 3 + 128);
}

TEST_CASE("decoder: SUBSCRIBE decoded into a packet holding a SUBSCRIBE reuses its vector") {
    const byte_vector bytes{0x82, 0x0A, 0x00, 0x02, 0x00, 0x01, 'a', 0x00, 0x00, 0x01, 'b', 0x02};
    protocol::packet p = protocol::subscribe{1, {}};
    std::get<protocol::subscribe>(p).subscriptions.reserve(16);
    const auto* storage = std::get<protocol::subscribe>(p).subscriptions.data();
    std::error_code ec;
    CHECK(protocol::decoder{}.next(bytes, p, ec) == bytes.size());
    REQUIRE_FALSE(ec);
    CHECK(std::get<protocol::subscribe>(p).subscriptions.data() == storage);
    CHECK(to_text(p) == "subscribe id=2 'a':0 'b':2");
}

TEST_CASE("decoder: SUBACK, UNSUBSCRIBE, CONNACK fields") {
    CHECK(to_text(decode(byte_vector{0x90, 0x05, 0x00, 0x03, 0x00, 0x80, 0x02}).packet) ==
          "suback id=3 codes=[ 0 128 2 ]");
    CHECK(to_text(decode(byte_vector{0xA2, 0x08, 0x00, 0x04, 0x00, 0x01, '#', 0x00, 0x01, '/'}).packet) ==
          "unsubscribe id=4 '#' '/'");
    CHECK(to_text(decode(byte_vector{0x20, 0x02, 0x01, 0x00}).packet) == "connack sp=1 code=0");
    CHECK(to_text(decode(byte_vector{0x20, 0x02, 0x00, 0x05}).packet) == "connack sp=0 code=5");
}
