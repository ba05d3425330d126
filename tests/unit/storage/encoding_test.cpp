// Keys and values byte for byte, their order, and decoding that never trusts a length it has not checked.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "storage/encoding.hpp"

using namespace mqttd::storage;
using namespace std::string_literals;

TEST_CASE("encoding: keys are the kind's letter, big-endian ids and length-prefixed client ids") {
    CHECK(message_key(0x0102) == "m\0\0\0\0\0\0\x01\x02"s);
    CHECK(queue_key("ab", 0x0a) ==
          "q\0\x02"
          "ab\0\0\0\0\0\0\0\x0a"s);
    CHECK(inbound_key("ab", 0x1234) ==
          "i\0\x02"
          "ab\x12\x34"s);
    CHECK(session_key("ab") == "sab");
    CHECK(retained_key("a/b") == "ra/b");
    CHECK(queue_prefix("") == "q\0\0"s);
}

TEST_CASE("encoding: keys sort by id, and one session's keys are one range no other client's enter") {
    std::vector<std::string> keys{queue_key("a", 256), queue_key("ab", 1), queue_key("a", 1),
                                  queue_key("a", 2),   queue_key("b", 0),  queue_key("a\xff", 1),
                                  queue_key("", 5)};
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> in_a;
    for (const auto& k : keys)
        if (k.starts_with(queue_prefix("a"))) in_a.push_back(k);
    CHECK(in_a == std::vector<std::string>{queue_key("a", 1), queue_key("a", 2), queue_key("a", 256)});
    // Contiguous: the three are next to each other in the sorted list.
    const auto first = std::find(keys.begin(), keys.end(), queue_key("a", 1));
    CHECK(std::equal(in_a.begin(), in_a.end(), first));
    CHECK(message_key(255) < message_key(256));
    CHECK(message_key(0xffffffff) < message_key(0x100000000));
}

TEST_CASE("encoding: parse_key reads back every kind and refuses malformed keys") {
    parsed_key k;
    const auto key = queue_key("c\0d"s, 77);  // k's views point into it
    REQUIRE(parse_key(key, k));
    CHECK(k.kind == key_kind::queue);
    CHECK(k.name == "c\0d"s);
    CHECK(k.id == 77);
    REQUIRE(parse_key(inbound_key("c", 65535), k));
    CHECK(k.kind == key_kind::inbound);
    CHECK(k.id == 65535);
    REQUIRE(parse_key(message_key(1ull << 63), k));
    CHECK(k.id == 1ull << 63);
    const auto retained = retained_key("t");
    REQUIRE(parse_key(retained, k));
    CHECK(k.name == "t");
    CHECK_FALSE(parse_key("", k));
    CHECK_FALSE(parse_key("m\0\0"s, k));
    CHECK_FALSE(
        parse_key("q\0\x05"
                  "ab\0\0\0\0\0\0\0\x01"s,
                  k));  // length says 5, 2 are there
    CHECK_FALSE(
        parse_key("i\0\x01"
                  "a\0"s,
                  k));  // packet id cut short
    CHECK_FALSE(parse_key("r", k));
    CHECK_FALSE(parse_key("x123", k));
}

TEST_CASE("encoding: describe_key is readable and escapes control characters") {
    CHECK(describe_key(message_key(42)) == "m/42");
    CHECK(describe_key(queue_key("sensor-1", 42)) == "q/\"sensor-1\"/42");
    CHECK(describe_key(inbound_key("a\"b\n", 7)) == "i/\"a\\\"b\\x0a\"/7");
    CHECK(describe_key(session_key("c")) == "s/\"c\"");
    CHECK(describe_key(retained_key("a/b")) == "r/\"a/b\"");
    CHECK(describe_key("x\x01"s) == "key 0x7801");
}

TEST_CASE("encoding: values are a format byte and the fields, byte for byte") {
    CHECK(encode_message({9, "t/x", "pay", 2, true}) == "\x01\x06\0\x03t/xpay"s);
    CHECK(encode_retained({0, "t/x", "pay", 1, true}) == "\x01\x05pay"s);
    CHECK(encode_queue_entry({9, 2, true, delivery_state::awaiting_pubcomp, 0x0102}) == "\x01\x1e\x01\x02"s);
    CHECK(encode_session({{"a/#", 1}, {"", 0}}) ==
          "\x01\0\0\0\x02\x01\0\x03"
          "a/#\0\0\0"s);
    CHECK(encode_inbound_id() == "\x01");
}

TEST_CASE("encoding: values decode to what was encoded") {
    const stored_message m{77, "a/b", std::string{"\0\xff\x80", 3}, 1, true};
    const auto back = decode_message(message_key(77), 77, encode_message(m));
    CHECK(back.id == 77);
    CHECK(back.topic == m.topic);
    CHECK(back.payload == m.payload);
    CHECK(back.qos == 1);
    CHECK(back.retain);

    const auto r = decode_retained(retained_key("a/b"), "a/b", encode_retained({0, "a/b", "", 2, true}));
    CHECK(r.topic == "a/b");
    CHECK(r.payload.empty());
    CHECK(r.qos == 2);

    for (std::uint8_t s = 0; s <= 3; ++s) {
        const queue_entry e{5, 2, s % 2 == 0, static_cast<delivery_state>(s),
                            static_cast<std::uint16_t>(s * 1000)};
        const auto d = decode_queue_entry(queue_key("c", 5), 5, encode_queue_entry(e));
        CHECK(d.message_id == 5);
        CHECK(d.qos == 2);
        CHECK(d.retain == e.retain);
        CHECK(d.state == e.state);
        CHECK(d.packet_id == e.packet_id);
    }

    const auto subs = decode_session(session_key("c"), encode_session({{"a/#", 1}, {"b", 2}}));
    REQUIRE(subs.size() == 2);
    CHECK(subs[1].filter == "b");
    CHECK(subs[1].qos == 2);
}

TEST_CASE("encoding: a value cut short anywhere is corrupt, named by its key") {
    const auto session = encode_session({{"a/#", 1}, {"bb", 2}});
    for (std::size_t cut = 0; cut < session.size(); ++cut) {
        CAPTURE(cut);
        CHECK_THROWS_WITH_AS(decode_session(session_key("c"), session.substr(0, cut)),
                             doctest::Contains("s/\"c\": corrupt value"), corrupt_value_error);
    }
    const auto entry = encode_queue_entry({5, 1, false, delivery_state::queued, 0});
    for (std::size_t cut = 0; cut < entry.size(); ++cut)
        CHECK_THROWS_AS(decode_queue_entry(queue_key("c", 5), 5, entry.substr(0, cut)), corrupt_value_error);
    const auto message = encode_message({1, "topic", "payload", 1, false});
    for (std::size_t cut = 0; cut < 9; ++cut)  // up to the end of the topic; the payload is the rest
        CHECK_THROWS_AS(decode_message(message_key(1), 1, message.substr(0, cut)), corrupt_value_error);
    CHECK_THROWS_AS(decode_retained(retained_key("t"), "t", ""), corrupt_value_error);
    CHECK_THROWS_AS(check_inbound_id(inbound_key("c", 1), ""), corrupt_value_error);
}

TEST_CASE("encoding: lengths, counts and flags that cannot be true are corrupt") {
    SUBCASE("a topic length past the end") {
        CHECK_THROWS_WITH_AS(decode_message(message_key(1), 1,
                                            "\x01\x01\xff\xff"
                                            "abc"s),
                             "m/1: corrupt value: topic needs 65535 bytes, 3 left", corrupt_value_error);
    }
    SUBCASE("a subscription count no value of this size can hold, before any allocation") {
        CHECK_THROWS_WITH_AS(decode_session(session_key("c"), "\x01\xff\xff\xff\xff"s),
                             "s/\"c\": corrupt value: subscription count 4294967295", corrupt_value_error);
    }
    SUBCASE("bytes after the last field") {
        CHECK_THROWS_AS(decode_queue_entry(queue_key("c", 1), 1, "\x01\x01\0\0\0"s), corrupt_value_error);
        CHECK_THROWS_AS(decode_session(session_key("c"), "\x01\0\0\0\0\0"s), corrupt_value_error);
        CHECK_THROWS_AS(check_inbound_id(inbound_key("c", 1), "\x01\x01"), corrupt_value_error);
    }
    SUBCASE("QoS 3, reserved bits") {
        CHECK_THROWS_AS(decode_message(message_key(1), 1, "\x01\x03\0\x01t"s), corrupt_value_error);
        CHECK_THROWS_AS(decode_retained(retained_key("t"), "t", "\x01\x08"s), corrupt_value_error);
        CHECK_THROWS_AS(decode_queue_entry(queue_key("c", 1), 1, "\x01\x23\0\0"s), corrupt_value_error);
        CHECK_THROWS_AS(decode_session(session_key("c"), "\x01\0\0\0\x01\x03\0\x01t"s), corrupt_value_error);
    }
    SUBCASE("an empty topic in a message body") {
        CHECK_THROWS_AS(decode_message(message_key(1), 1, "\x01\x01\0\0"s), corrupt_value_error);
    }
}

TEST_CASE("encoding: a value in a format this mqttd does not know is refused, not called corrupt") {
    try {
        (void)decode_queue_entry(queue_key("c", 1), 1, "\x02\x01\0\0"s);
        FAIL("no exception");
    } catch (const corrupt_value_error&) {
        FAIL("a newer format is not damage");
    } catch (const storage_error& e) {
        CHECK(std::string{e.what()} ==
              "q/\"c\"/1: value in format 2, which this mqttd does not know (written by a newer version?)");
    }
}

TEST_CASE("encoding: strings longer than MQTT allows are refused when encoding") {
    CHECK_THROWS_AS(queue_key(std::string(65536, 'c'), 1), storage_error);
    CHECK_THROWS_AS(retained_key(std::string(65536, 't')), storage_error);
    CHECK_THROWS_AS(retained_key(""), storage_error);
    CHECK_THROWS_AS(encode_message({1, std::string(65536, 't'), "", 0, false}), storage_error);
    CHECK_THROWS_AS(encode_session({{std::string(65536, 'f'), 0}}), storage_error);
    CHECK_NOTHROW(queue_key(std::string(65535, 'c'), 1));
}
