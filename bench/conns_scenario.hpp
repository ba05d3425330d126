#pragma once
// The load generator's `conns` scenario: opens --connections idle connections (TCP, TLS or WebSocket),
// --concurrency at a time, prints the connect rate as one JSON line as soon as all are connected (so that a driver
// can read the broker's memory meanwhile), holds them for --seconds (or until SIGTERM) and closes them.
// Owned by one thread: every connection lives on the one io_context it is given.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "bench/bench_options.hpp"
#include "bench/idle_client.hpp"

namespace mqttd::bench {

class conns_scenario {
public:
    conns_scenario(const options& o, boost::asio::io_context& io, boost::asio::ip::tcp::endpoint broker,
                   std::string id_prefix);

    // Exit status: 0 when every connection got CONNACK 0 and stayed up.
    int run();

private:
    void start_next();
    void on_done(std::size_t n, const std::string& error);

    const options& o_;
    boost::asio::io_context& io_;
    boost::asio::ip::tcp::endpoint broker_;
    std::string id_prefix_;
    boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_client};
    std::vector<std::unique_ptr<idle_client>> clients_;
    std::size_t next_ = 0, ready_ = 0, failed_ = 0;
    std::chrono::steady_clock::time_point last_ready_at_;
    std::string error_;
};

}  // namespace mqttd::bench
