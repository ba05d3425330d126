#include "broker/net/receive_buffer.hpp"

#include <cstring>

#include <doctest/doctest.h>

using mqttd::net::receive_buffer;

namespace {

void receive(receive_buffer& rx, std::size_t n, std::size_t packet_size) {
    while (n > 0) {
        const auto room = rx.prepare(packet_size);
        REQUIRE(!room.empty());
        const auto take = std::min(n, room.size());
        std::memset(room.data(), 'x', take);
        rx.commit(take);
        n -= take;
    }
}

}  // namespace

TEST_CASE("receive_buffer: a 256 MB length claim allocates nothing until the bytes arrive") {
    receive_buffer rx;
    rx.prepare(0);
    CHECK(rx.capacity() == receive_buffer::initial_size);
    receive(rx, 5, 256 * 1024 * 1024);  // only the fixed header has come
    rx.prepare(256 * 1024 * 1024);
    CHECK(rx.capacity() == receive_buffer::initial_size);
}

TEST_CASE("receive_buffer: it grows by doubling as a large packet arrives, up to the packet's size") {
    receive_buffer rx;
    const std::size_t packet = 100'000;
    receive(rx, 10'000, packet);
    CHECK(rx.capacity() == 16'384);
    receive(rx, packet - 10'000, packet);
    CHECK(rx.capacity() == packet);  // the last step stops at the packet's size, not at 131,072
    CHECK(rx.data().size() == packet);
}

TEST_CASE("receive_buffer: consumed bytes make room; an idle buffer shrinks back") {
    receive_buffer rx;
    receive(rx, 200'000, 200'000);
    CHECK(rx.capacity() >= 200'000);
    rx.consume(200'000);
    rx.prepare(0);
    CHECK(rx.capacity() == receive_buffer::initial_size);
    receive(rx, 3000, 5000);
    rx.consume(2000);
    const auto room = rx.prepare(5000);  // 1000 pending + 4000 to come fit after moving to the front
    CHECK(rx.capacity() == receive_buffer::initial_size);
    CHECK(room.size() == receive_buffer::initial_size - 1000);
    CHECK(rx.data().size() == 1000);
}

TEST_CASE("receive_buffer: release_if_empty frees an idle buffer, and keeps a partial packet") {
    receive_buffer rx;
    receive(rx, 3000, 5000);
    rx.release_if_empty();
    CHECK(rx.capacity() == receive_buffer::initial_size);  // 3000 bytes of a packet are pending: kept
    CHECK(rx.data().size() == 3000);
    rx.consume(3000);
    rx.release_if_empty();
    CHECK(rx.capacity() == 0);
    CHECK(rx.data().empty());
    CHECK(rx.prepare(0).size() == receive_buffer::initial_size);  // allocated again for the next bytes
}
