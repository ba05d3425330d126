#pragma once
// TLS over TCP (tls_stream: OpenSSL on the socket, Asio for readiness). The handshake runs inside the
// connection's connect deadline; the client certificate's CN, when there is one, reaches auth and the logs
// through peer(). Like TCP, an idle connection waits for readability with no receive buffer and no coroutine.

#include <boost/asio/ip/tcp.hpp>

#include "broker/net/tls_context.hpp"
#include "broker/net/tls_stream.hpp"
#include "broker/net/transport.hpp"

namespace mqttd::net {

class tls_transport {
public:
    tls_transport(tcp_socket socket, std::string peer_address, ssl_context_ptr context);

    boost::asio::awaitable<boost::system::error_code> handshake();
    boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer b);
    // Calls handler(error_code) once read_some would find bytes, counting those OpenSSL has already taken
    // off the socket (connection.cpp: the idle connection's wait).
    template <class Handler>
    void async_wait_readable(Handler&& handler) {
        stream_.async_wait_readable(std::forward<Handler>(handler));
    }
    boost::asio::awaitable<io_result> write_all(std::span<const boost::asio::const_buffer> buffers);
    void close();
    const peer_info& peer() const noexcept { return peer_; }
    const std::string& cert_cn() const noexcept { return cert_cn_; }

    tls_stream& stream() noexcept { return stream_; }

private:
    tls_stream stream_;
    peer_info peer_;
    std::string cert_cn_;  // the client certificate's, after the handshake
};

static_assert(transport<tls_transport>);

// The CN of the verified peer certificate, or "" when the peer sent none.
std::string peer_common_name(SSL* ssl);

}  // namespace mqttd::net
