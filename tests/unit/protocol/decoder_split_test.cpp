// The decoder keeps no buffer, so however a connection's reads cut a stream, it must see the same packets
// and the same error. Streams are fed through test::feed, which keeps unconsumed bytes as a connection does.
#include "protocol/decoder.hpp"

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"
#include "packet_text.hpp"
#include "protocol/encoder.hpp"
#include "protocol/errc.hpp"

namespace protocol = mqttd::protocol;
using protocol::test::as_bytes;
using protocol::test::byte_vector;
using protocol::test::feed;
using protocol::test::stream_result;

namespace {

const std::array<std::uint8_t, 4> will_payload{0xDE, 0xAD, 0x00, 0x01};
const std::vector<std::uint8_t> big_payload(300, 0x42);  // two-byte remaining length

// One of each of the 14 packet types, back to back.
byte_vector mixed_stream() {
    protocol::connect c;
    c.client_id = "split";
    c.keep_alive = 15;
    c.last_will = protocol::will{"will/t", will_payload, protocol::qos::at_least_once, true};
    c.username = "u";
    c.password = as_bytes("p");
    const std::vector<protocol::packet> packets{
        c,
        protocol::connack{true, protocol::connack_code::accepted},
        protocol::publish{false, protocol::qos::at_most_once, false, "a/b", 0, as_bytes("zero")},
        protocol::publish{true, protocol::qos::at_least_once, true, "a/c", 10, big_payload},
        protocol::publish{false, protocol::qos::exactly_once, false, "x", 11, {}},
        protocol::puback{10},
        protocol::pubrec{11},
        protocol::pubrel{11},
        protocol::pubcomp{11},
        protocol::subscribe{12, {{"a/#", protocol::qos::exactly_once}, {"+/b", protocol::qos::at_most_once}}},
        protocol::suback{12, {0x02, 0x80}},
        protocol::unsubscribe{13, {"a/#", "+/b"}},
        protocol::unsuback{13},
        protocol::pingreq{},
        protocol::pingresp{},
        protocol::disconnect{},
    };
    byte_vector stream;
    for (const auto& p : packets) {
        const auto bytes = protocol::encode(p);
        stream.insert(stream.end(), bytes.begin(), bytes.end());
    }
    return stream;
}

void check_every_split(const byte_vector& stream, const stream_result& expected) {
    const protocol::decoder d;
    CHECK(protocol::test::feed_whole(d, stream) == expected);
    CHECK(protocol::test::feed_bytewise(d, stream) == expected);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        CAPTURE(cut);
        const std::array<std::size_t, 1> cuts{cut};
        const auto got = feed(d, stream, cuts);
        CHECK(got == expected);
        if (got != expected) break;  // one report is enough
    }
}

}  // namespace

TEST_CASE("decoder split: all 14 packet types decode identically for every cut point") {
    const auto stream = mixed_stream();
    const auto expected = protocol::test::feed_whole(protocol::decoder{}, stream);
    REQUIRE_FALSE(expected.ec);
    REQUIRE(expected.packets.size() == 16);
    CHECK(expected.leftover == 0);
    CHECK(expected.packets[3] == "publish dup=1 qos=1 retain=1 topic='a/c' id=10 payload=[" + [] {
        std::string s;
        for (int i = 0; i < 300; ++i) s += " 66";
        return s;
    }() + " ]");
    CHECK(expected.packets.back() == "disconnect");
    check_every_split(stream, expected);
}

TEST_CASE("decoder split: random chunkings give the same packets") {
    const auto stream = mixed_stream();
    const protocol::decoder d;
    const auto expected = protocol::test::feed_whole(d, stream);
    std::mt19937 rng{12345};
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> cuts;
        std::size_t at = 0;
        for (;;) {
            at += std::uniform_int_distribution<std::size_t>{1, 40}(rng);
            if (at >= stream.size()) break;
            cuts.push_back(at);
        }
        CAPTURE(round);
        CHECK(feed(d, stream, cuts) == expected);
    }
}

TEST_CASE("decoder split: an incomplete last packet stays buffered for every split") {
    auto stream = mixed_stream();
    const byte_vector partial{0x32, 0x0A, 0x00, 0x03, 'a', '/', 'b'};  // PUBLISH missing id and payload
    stream.insert(stream.end(), partial.begin(), partial.end());
    const auto expected = protocol::test::feed_whole(protocol::decoder{}, stream);
    REQUIRE_FALSE(expected.ec);
    CHECK(expected.packets.size() == 16);
    CHECK(expected.leftover == partial.size());
    check_every_split(stream, expected);
}

TEST_CASE("decoder split: a malformed packet after good ones gives the same packets then the same error") {
    auto stream = mixed_stream();
    const byte_vector bad{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, '#', 0x03};  // QoS 3 requested [MQTT-3.8.3-4]
    stream.insert(stream.end(), bad.begin(), bad.end());
    stream.insert(stream.end(), {0xC0, 0x00});  // never reached
    const auto expected = protocol::test::feed_whole(protocol::decoder{}, stream);
    CHECK(expected.ec == protocol::errc::subscription_reserved_bits);
    CHECK(expected.packets.size() == 16);
    check_every_split(stream, expected);
}

TEST_CASE(
    "decoder split: malformed remaining length is found at the same point for every split (section 2.2.3)") {
    byte_vector stream{0xC0, 0x00, 0x30, 0xFF, 0xFF, 0xFF, 0xFF};
    stream_result expected;
    expected.packets = {"pingreq"};
    expected.ec = protocol::errc::malformed_remaining_length;
    check_every_split(stream, expected);
}

TEST_CASE("decoder split: packet_too_large is reported before the body arrives, for every split") {
    const protocol::decoder d{64};
    byte_vector stream{0xC0, 0x00, 0x30, 0xC8, 0x01};  // PUBLISH of 203 bytes, only the header sent
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        CAPTURE(cut);
        const std::array<std::size_t, 1> cuts{cut};
        const auto got = feed(d, stream, cuts);
        CHECK(got.ec == protocol::errc::packet_too_large);
        CHECK(got.packets == std::vector<std::string>{"pingreq"});
    }
}

TEST_CASE(
    "decoder split: corrupted streams give the same packets and error whole, bytewise and cut at random") {
    const auto clean = mixed_stream();
    const protocol::decoder d;
    std::mt19937 rng{777};
    std::size_t errors_seen = 0;
    for (int round = 0; round < 300; ++round) {
        auto stream = clean;
        const auto flips = std::uniform_int_distribution<int>{1, 3}(rng);
        for (int i = 0; i < flips; ++i) {
            const auto at = std::uniform_int_distribution<std::size_t>{0, stream.size() - 1}(rng);
            stream[at] = static_cast<std::uint8_t>(std::uniform_int_distribution<unsigned>{0, 255}(rng));
        }
        const auto expected = protocol::test::feed_whole(d, stream);
        if (expected.ec) ++errors_seen;
        std::vector<std::size_t> cuts;
        for (std::size_t at = 0;;) {
            at += std::uniform_int_distribution<std::size_t>{1, 25}(rng);
            if (at >= stream.size()) break;
            cuts.push_back(at);
        }
        CAPTURE(round);
        CHECK(protocol::test::feed_bytewise(d, stream) == expected);
        CHECK(feed(d, stream, cuts) == expected);
    }
    CHECK(errors_seen > 50);  // the corruption really exercises the error paths
}
