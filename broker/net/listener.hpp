#pragma once
// Accepts connections on one configured address and hands each socket to the next worker, round-robin.
// The acceptor runs on worker 0; the socket is created on the target worker's io_context, so the connection
// never changes thread after accept.

#include <atomic>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "broker/net/server_options.hpp"
#include "broker/net/worker.hpp"

namespace mqttd::net {

class listener {
public:
    // Binds now: throws std::runtime_error naming the address when it cannot.
    listener(const listener_options& options, std::vector<std::unique_ptr<worker>>& workers);

    void start();
    // Warning: may be called from any thread; the acceptor is closed on its own worker.
    void stop();
    std::uint16_t port() const noexcept { return port_; }

private:
    boost::asio::awaitable<void> accept_loop();

    listener_options options_;
    std::vector<std::unique_ptr<worker>>& workers_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::size_t next_worker_ = 0;
};

}  // namespace mqttd::net
