// net::server::stats(): a real server on a loopback port, one raw MQTT client, and the counts it leaves.

#include "broker/net/server.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

using namespace mqttd;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

net::server_options options() {
    net::server_options o;
    o.listeners.push_back({});
    o.listeners[0].port = 0;
    o.threads = 1;
    o.persistence.enabled = false;
    o.sys_interval = std::chrono::seconds{0};
    return o;
}

// Polls until `ok` holds for the server's stats (the gauges are copied out once a second), at most 5 s.
template <class F>
net::broker_stats wait_for(const net::server& s, F ok) {
    auto stats = s.stats();
    for (int i = 0; i < 100 && !ok(stats); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
        stats = s.stats();
    }
    return stats;
}

std::vector<std::uint8_t> read_exactly(tcp::socket& socket, std::size_t n) {
    std::vector<std::uint8_t> bytes(n);
    asio::read(socket, asio::buffer(bytes));
    return bytes;
}

}  // namespace

TEST_CASE("server: stats count a client's connection, traffic, messages and latency, and its departure") {
    net::server server{options()};
    server.start();
    const auto port = server.listener_ports()[0];

    asio::io_context io;
    tcp::socket socket{io};
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const timeval five_seconds{5, 0};  // a broken broker fails the test instead of hanging it
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);

    const std::array<std::uint8_t, 15> connect{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'c'};
    asio::write(socket, asio::buffer(connect));
    CHECK(read_exactly(socket, 4) == std::vector<std::uint8_t>{0x20, 2, 0, 0});
    const std::array<std::uint8_t, 8> subscribe{0x82, 6, 0, 1, 0, 1, 't', 0};
    asio::write(socket, asio::buffer(subscribe));
    CHECK(read_exactly(socket, 5) == std::vector<std::uint8_t>{0x90, 3, 0, 1, 0});
    const std::array<std::uint8_t, 7> publish{0x30, 5, 0, 1, 't', 'h', 'i'};
    asio::write(socket, asio::buffer(publish));
    CHECK(read_exactly(socket, 7) == std::vector<std::uint8_t>(publish.begin(), publish.end()));

    auto s = wait_for(server, [](const net::broker_stats& s) {
        std::uint64_t latencies = 0;
        for (const auto n : s.totals.latency_buckets) latencies += n;
        return s.totals.connected_sessions == 1 && latencies == 1;
    });
    CHECK(s.totals.connected_sessions == 1);
    CHECK(s.totals.sessions == 1);
    CHECK(s.max_connected_sessions == 1);
    CHECK(s.totals.connacks[0] == 1);
    CHECK(s.totals.bytes_received == connect.size() + subscribe.size() + publish.size());
    CHECK(s.totals.bytes_sent == 4 + 5 + 7);
    CHECK(s.totals.publishes_received == std::array<std::uint64_t, 3>{1, 0, 0});
    CHECK(s.totals.publishes_sent == std::array<std::uint64_t, 3>{1, 0, 0});
    CHECK(s.totals.latency_buckets.back() == 0);  // nothing near 10 s on loopback
    CHECK(s.subscriptions == 1);
    REQUIRE(s.listeners.size() == 1);
    CHECK(s.listeners[0].port == port);
    CHECK(s.listeners[0].open == 1);
    CHECK(s.listeners[0].accepted == 1);
    REQUIRE(s.workers.size() == 1);
    CHECK(s.workers[0].loop_lag_seconds >= 0);
    CHECK(s.workers[0].loop_lag_seconds < 1);
    CHECK(s.memory.resident_bytes > 0);
    CHECK(s.uptime_seconds > 0);

    socket.close();
    s = wait_for(server, [](const net::broker_stats& s) {
        return s.totals.connected_sessions == 0 && s.listeners[0].open == 0;
    });
    CHECK(s.totals.connected_sessions == 0);
    CHECK(s.totals.sessions == 0);  // a clean session ends with its connection
    CHECK(s.listeners[0].open == 0);
    CHECK(s.max_connected_sessions == 1);
    CHECK(s.totals.closes[static_cast<std::size_t>(core::close_reason::network_error)] == 1);
    server.stop(std::chrono::milliseconds{1000});
}

TEST_CASE("server: a refused CONNECT is counted by its CONNACK code") {
    auto o = options();
    o.auth.allow_anonymous = false;
    net::server server{o};
    server.start();
    asio::io_context io;
    tcp::socket socket{io};
    socket.connect({asio::ip::make_address("127.0.0.1"), server.listener_ports()[0]});
    const timeval five_seconds{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    const std::array<std::uint8_t, 15> connect{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'c'};
    asio::write(socket, asio::buffer(connect));
    CHECK(read_exactly(socket, 4) == std::vector<std::uint8_t>{0x20, 2, 0, 5});  // [MQTT-3.2.2-6] not authorized
    const auto s = server.stats();
    CHECK(s.totals.connacks[5] == 1);
    CHECK(s.totals.connacks[0] == 0);
    server.stop(std::chrono::milliseconds{1000});
}
