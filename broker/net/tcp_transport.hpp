#pragma once
// Plain TCP: the socket as it comes from the acceptor. Owned by one connection, on one worker.

#include <boost/asio/ip/tcp.hpp>

#include "broker/net/transport.hpp"

namespace mqttd::net {

class tcp_transport {
public:
    // peer_address: as the acceptor reported it (the socket may no longer know it once the peer resets).
    tcp_transport(tcp_socket socket, std::string peer_address);

    boost::asio::awaitable<boost::system::error_code> handshake();
    boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer b);
    // Calls handler(error_code) once read_some would find bytes (or on an error): an idle connection then needs
    // no receive buffer and no coroutine (connection.cpp). TLS has the same, counting what OpenSSL holds; WS
    // has not: Beast keeps input of its own, which a wait on the socket would not see.
    template <class Handler>
    void async_wait_readable(Handler&& handler) {
        socket_.async_wait(boost::asio::ip::tcp::socket::wait_read, std::forward<Handler>(handler));
    }
    boost::asio::awaitable<io_result> write_all(std::span<const boost::asio::const_buffer> buffers);
    // One gathered write of what the socket takes now, without waiting: the bytes written (perhaps fewer than
    // given, perhaps 0 with would_block), or the error. The connection tries it before starting a coroutine.
    io_result try_write(std::span<const boost::asio::const_buffer> buffers);
    void close();
    const peer_info& peer() const noexcept { return peer_; }

private:
    tcp_socket socket_;
    peer_info peer_;
};

static_assert(transport<tcp_transport>);

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& ep);

// TCP_NODELAY on an accepted socket: MQTT is many small packets each way, and Nagle's delay would add latency to
// every acknowledgement. Linux copies it from the listening socket, where listener.cpp sets it, so there this
// costs nothing (a system call per connection saved); elsewhere it is set here.
void set_no_delay(tcp_socket& socket);

}  // namespace mqttd::net
