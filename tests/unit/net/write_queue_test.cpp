#include "broker/net/write_queue.hpp"

#include <doctest/doctest.h>

#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"

using namespace mqttd;

namespace {

std::vector<std::uint8_t> flatten(const std::vector<boost::asio::const_buffer>& buffers) {
    std::vector<std::uint8_t> out(boost::asio::buffer_size(buffers));
    boost::asio::buffer_copy(boost::asio::buffer(out), buffers);
    return out;
}

}  // namespace

TEST_CASE("write_queue: one shared message becomes a byte-exact PUBLISH per subscriber") {
    const std::string payload(300, 'x');  // remaining length needs two bytes
    const auto msg = core::make_message(
        "a/b", {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, protocol::qos::exactly_once, true);
    net::write_queue q;
    q.push(core::send_publish{msg, protocol::qos::at_least_once, 0x1234, true, false});
    q.push(core::send_publish{msg, protocol::qos::at_most_once, 0, false, true});
    q.push(core::send_packet{protocol::suback{7, {0, 1, 2, 0x80, 1, 1, 1, 1, 1}}});  // larger than a head
    const auto expected_size = q.queued_bytes();
    const auto bytes = flatten(q.take_batch());
    CHECK(bytes.size() == expected_size);

    const auto want_1 = protocol::encode(protocol::publish{true, protocol::qos::at_least_once, false, "a/b", 0x1234,
                                                           msg->payload()});
    const auto want_2 = protocol::encode(protocol::publish{false, protocol::qos::at_most_once, true, "a/b", 0, msg->payload()});
    const auto want_3 = protocol::encode(protocol::suback{7, {0, 1, 2, 0x80, 1, 1, 1, 1, 1}});
    std::vector<std::uint8_t> want;
    for (const auto* part : {&want_1, &want_2, &want_3}) want.insert(want.end(), part->begin(), part->end());
    CHECK(bytes == want);
    q.release_written();
    CHECK(q.is_empty());
    CHECK(q.queued_bytes() == 0);
}

TEST_CASE("write_queue: small packets share one buffer; a large payload is written from the message, uncopied") {
    const std::string small(100, 's');
    const std::string large(net::write_queue::large_payload, 'L');
    const auto small_msg = core::make_message(
        "t", {reinterpret_cast<const std::uint8_t*>(small.data()), small.size()}, protocol::qos::at_most_once, false);
    const auto large_msg = core::make_message(
        "t", {reinterpret_cast<const std::uint8_t*>(large.data()), large.size()}, protocol::qos::at_most_once, false);
    net::write_queue q;
    for (int i = 0; i < 100; ++i) q.push(core::send_publish{small_msg, protocol::qos::at_most_once, 0, false, false});
    q.push(core::send_packet{protocol::puback{1}});
    q.push(core::send_publish{large_msg, protocol::qos::at_most_once, 0, false, false});
    q.push(core::send_packet{protocol::puback{2}});
    const auto& buffers = q.take_batch();
    REQUIRE(buffers.size() == 3);  // everything before the large payload, the payload itself, the PUBACK
    CHECK(buffers[1].data() == large_msg->payload().data());
    CHECK(flatten(buffers).size() == 100 * (2 + 3 + 100) + 4 + (3 + 3 + large.size()) + 4);
    q.release_written();
    CHECK(q.is_empty());
    CHECK(q.queued_bytes() == 0);
}

TEST_CASE("write_queue: a batch closes near batch_bytes, so each write makes measurable progress") {
    const std::string payload(1000, 'x');
    const auto msg = core::make_message(
        "t", {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, protocol::qos::at_most_once, false);
    net::write_queue q;
    for (int i = 0; i < 600; ++i) q.push(core::send_publish{msg, protocol::qos::at_most_once, 0, false, false});
    std::size_t batches = 0;
    std::size_t total = 0;
    while (!q.is_empty()) {
        const auto bytes = flatten(q.take_batch()).size();
        CHECK(bytes <= net::write_queue::batch_bytes);
        total += bytes;
        ++batches;
        q.release_written();
    }
    CHECK(batches == 3);
    CHECK(total == 600 * (3 + 3 + 1000));  // a two-byte remaining length each
}

TEST_CASE("write_queue: a flood of acknowledgements costs what it weighs on the wire") {
    net::write_queue q;
    for (int i = 0; i < 1000; ++i) q.push(core::send_packet{protocol::puback{static_cast<protocol::packet_id>(i + 1)}});
    CHECK(q.queued_bytes() == 4000);
    CHECK(q.backlog_bytes() == 4000);
}
