// Encoder tests: byte-exact encodings of known packets, and round trips through the decoder for all 14
// packet types with their variants.
#include "protocol/encoder.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"
#include "packet_text.hpp"
#include "protocol/decoder.hpp"

namespace protocol = mqttd::protocol;
using protocol::test::as_bytes;
using protocol::test::byte_vector;
using protocol::test::to_text;

namespace {

// Encode, check the size agrees, decode, and require the same fields and every byte consumed.
void check_round_trip(const protocol::packet& original) {
    const auto bytes = protocol::encode(original);
    REQUIRE(bytes.size() == protocol::encoded_size(original));
    protocol::packet decoded;
    std::error_code ec;
    const auto used = protocol::decoder{}.next(bytes, decoded, ec);
    INFO(to_text(original));
    REQUIRE_FALSE(ec);
    CHECK(used == bytes.size());
    CHECK(decoded.index() == original.index());
    CHECK(to_text(decoded) == to_text(original));
}

const std::array<std::uint8_t, 3> payload_bytes{0x00, 0xFF, 0x7F};

}  // namespace

TEST_CASE("encoder: remaining length uses 1..4 bytes at the boundaries (section 2.2.3)") {
    struct row {
        std::size_t value;
        byte_vector bytes;
    };
    const std::vector<row> rows{
        {0, {0x00}},
        {127, {0x7F}},
        {128, {0x80, 0x01}},
        {16'383, {0xFF, 0x7F}},
        {16'384, {0x80, 0x80, 0x01}},
        {2'097'151, {0xFF, 0xFF, 0x7F}},
        {2'097'152, {0x80, 0x80, 0x80, 0x01}},
        {268'435'455, {0xFF, 0xFF, 0xFF, 0x7F}},
    };
    for (const auto& r : rows) {
        CAPTURE(r.value);
        std::array<std::uint8_t, 4> out{};
        const auto n = protocol::encode_remaining_length(r.value, out.data());
        CHECK(n == r.bytes.size());
        CHECK(protocol::remaining_length_size(r.value) == r.bytes.size());
        CHECK(byte_vector(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)) == r.bytes);

        // The decoder reads the same value back from a fixed header.
        byte_vector header{0x30};
        header.insert(header.end(), r.bytes.begin(), r.bytes.end());
        protocol::frame_header h;
        std::error_code ec;
        CHECK(protocol::decoder{}.peek_header(header, h, ec) == 1 + n);
        CHECK_FALSE(ec);
        CHECK(h.remaining_length == r.value);
        CHECK(h.total() == 1 + n + r.value);
    }
}

TEST_CASE("encoder: CONNECT is byte-exact (MQTT 3.1.1, clean session, keep alive 60, id \"ab\")") {
    protocol::connect c;
    c.keep_alive = 60;
    c.client_id = "ab";
    const byte_vector expected{0x10, 0x0E, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                               0x04, 0x02, 0x00, 0x3C, 0x00, 0x02, 'a', 'b'};
    CHECK(protocol::encode(c) == expected);
}

TEST_CASE("encoder: legacy MQIsdp CONNECT writes name MQIsdp and level 3") {
    protocol::connect c;
    c.version = protocol::protocol_version::v3_1;
    c.clean_session = false;
    c.client_id = "x";
    const byte_vector expected{0x10, 0x0F, 0x00, 0x06, 'M',  'Q',  'I',  's', 'd',
                               'p',  0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 'x'};
    CHECK(protocol::encode(c) == expected);
}

TEST_CASE("encoder: PUBLISH writes the packet id only for QoS > 0 [MQTT-2.3.1-5]") {
    protocol::publish p;
    p.topic = "a/b";
    p.payload = as_bytes("hi");
    p.id = 7;  // ignored at QoS 0
    CHECK(protocol::encode(p) == byte_vector{0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'});
    p.qos_level = protocol::qos::exactly_once;
    p.dup = true;
    p.retain = true;
    CHECK(protocol::encode(p) == byte_vector{0x3D, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x07, 'h', 'i'});
}

TEST_CASE("encoder: PUBREL, SUBSCRIBE, UNSUBSCRIBE carry flags 0b0010 [MQTT-2.2.2-2]") {
    CHECK(protocol::encode(protocol::pubrel{0x1234}) == byte_vector{0x62, 0x02, 0x12, 0x34});
    protocol::subscribe s{1, {{"t", protocol::qos::at_least_once}}};
    CHECK(protocol::encode(s) == byte_vector{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x01});
    protocol::unsubscribe u{2, {"t"}};
    CHECK(protocol::encode(u) == byte_vector{0xA2, 0x05, 0x00, 0x02, 0x00, 0x01, 't'});
}

TEST_CASE("encoder: empty packets and acks are byte-exact") {
    CHECK(protocol::encode(protocol::pingreq{}) == byte_vector{0xC0, 0x00});
    CHECK(protocol::encode(protocol::pingresp{}) == byte_vector{0xD0, 0x00});
    CHECK(protocol::encode(protocol::disconnect{}) == byte_vector{0xE0, 0x00});
    CHECK(protocol::encode(protocol::puback{1}) == byte_vector{0x40, 0x02, 0x00, 0x01});
    CHECK(protocol::encode(protocol::pubrec{2}) == byte_vector{0x50, 0x02, 0x00, 0x02});
    CHECK(protocol::encode(protocol::pubcomp{3}) == byte_vector{0x70, 0x02, 0x00, 0x03});
    CHECK(protocol::encode(protocol::unsuback{4}) == byte_vector{0xB0, 0x02, 0x00, 0x04});
    CHECK(protocol::encode(protocol::connack{true, protocol::connack_code::not_authorized}) ==
          byte_vector{0x20, 0x02, 0x01, 0x05});
    CHECK(protocol::encode(protocol::suback{9, {0x00, 0x01, 0x02, 0x80}}) ==
          byte_vector{0x90, 0x06, 0x00, 0x09, 0x00, 0x01, 0x02, 0x80});
}

TEST_CASE("encoder: encode(span) writes exactly encoded_size bytes") {
    protocol::publish p{false, protocol::qos::at_least_once, false, "x", 1, as_bytes("abc")};
    std::vector<std::uint8_t> buffer(protocol::encoded_size(p) + 1, 0xEE);
    protocol::encode(p, std::span{buffer}.first(buffer.size() - 1));
    CHECK(buffer.back() == 0xEE);
    CHECK(byte_vector(buffer.begin(), buffer.end() - 1) == protocol::encode(p));
}

TEST_CASE("encoder: CONNECT round trips") {
    protocol::connect c;
    c.client_id = "client-1";
    SUBCASE("minimal") {}
    SUBCASE("empty client id, no clean session") {
        c.client_id = "";
        c.clean_session = false;
        c.keep_alive = 65535;
    }
    SUBCASE("will with payload, QoS 1, retain") {
        c.last_will = protocol::will{"last/words", payload_bytes, protocol::qos::at_least_once, true};
    }
    SUBCASE("will QoS 2, empty payload") {
        c.last_will = protocol::will{"w", {}, protocol::qos::exactly_once, false};
    }
    SUBCASE("username and password") {
        c.username = "user";
        c.password = payload_bytes;
    }
    SUBCASE("username only, empty") { c.username = ""; }
    SUBCASE("everything") {
        c.keep_alive = 30;
        c.last_will = protocol::will{"a/b", as_bytes("bye"), protocol::qos::at_most_once, false};
        c.username = "u\xC3\xA9";
        c.password = as_bytes("");
    }
    SUBCASE("legacy MQIsdp 3.1") {
        c.version = protocol::protocol_version::v3_1;
        c.username = "old";
        c.password = as_bytes("secret");
    }
    check_round_trip(c);
}

TEST_CASE("encoder: CONNACK round trips") {
    SUBCASE("accepted") { check_round_trip(protocol::connack{false, protocol::connack_code::accepted}); }
    SUBCASE("session present") {
        check_round_trip(protocol::connack{true, protocol::connack_code::accepted});
    }
    SUBCASE("every refusal") {
        for (std::uint8_t code = 1; code <= 5; ++code)
            check_round_trip(protocol::connack{false, static_cast<protocol::connack_code>(code)});
    }
}

TEST_CASE("encoder: PUBLISH round trips") {
    protocol::publish p;
    p.topic = "sensors/1/temp";
    p.payload = payload_bytes;
    SUBCASE("QoS 0") {}
    SUBCASE("QoS 0 retain, empty payload") {
        p.retain = true;
        p.payload = {};
    }
    SUBCASE("QoS 1") {
        p.qos_level = protocol::qos::at_least_once;
        p.id = 1;
    }
    SUBCASE("QoS 1 dup") {
        p.qos_level = protocol::qos::at_least_once;
        p.dup = true;
        p.id = 65535;
    }
    SUBCASE("QoS 2 dup retain") {
        p.qos_level = protocol::qos::exactly_once;
        p.dup = p.retain = true;
        p.id = 300;
    }
    SUBCASE("large payload needs a 3-byte remaining length") {
        static const std::vector<std::uint8_t> big(20'000, 0x5A);
        p.payload = big;
    }
    SUBCASE("topic with empty levels and $") { p.topic = "$SYS//x/"; }
    check_round_trip(p);
}

TEST_CASE("encoder: PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK round trip") {
    check_round_trip(protocol::puback{1});
    check_round_trip(protocol::pubrec{0x0102});
    check_round_trip(protocol::pubrel{0xFFFF});
    check_round_trip(protocol::pubcomp{42});
    check_round_trip(protocol::unsuback{9});
}

TEST_CASE("encoder: SUBSCRIBE and SUBACK round trip with several entries") {
    check_round_trip(protocol::subscribe{1, {{"a", protocol::qos::at_most_once}}});
    check_round_trip(protocol::subscribe{77,
                                         {{"sport/tennis/#", protocol::qos::exactly_once},
                                          {"+/+", protocol::qos::at_least_once},
                                          {"#", protocol::qos::at_most_once},
                                          {"$SYS/broker/+", protocol::qos::at_least_once}}});
    check_round_trip(protocol::suback{77, {0x02, 0x01, 0x00, protocol::suback_failure}});
    check_round_trip(protocol::suback{1, {0x00}});
}

TEST_CASE("encoder: UNSUBSCRIBE round trips with several filters") {
    check_round_trip(protocol::unsubscribe{5, {"a/b"}});
    check_round_trip(protocol::unsubscribe{6, {"a/+", "#", "/", "x/y/z"}});
}

TEST_CASE("encoder: PINGREQ, PINGRESP, DISCONNECT round trip") {
    check_round_trip(protocol::pingreq{});
    check_round_trip(protocol::pingresp{});
    check_round_trip(protocol::disconnect{});
}
