#pragma once
// TLS over TCP (OpenSSL through Asio's ssl::stream). The handshake runs inside the connection's connect
// deadline; the client certificate's CN, when there is one, reaches auth and the logs through peer().

#include <cstdint>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "broker/net/tls_context.hpp"
#include "broker/net/transport.hpp"

namespace mqttd::net {

using ssl_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

class tls_transport {
public:
    tls_transport(boost::asio::ip::tcp::socket socket, std::string peer_address, ssl_context_ptr context);

    boost::asio::awaitable<boost::system::error_code> handshake();
    boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer b);
    boost::asio::awaitable<io_result> write_all(std::span<const boost::asio::const_buffer> buffers);
    void close();
    const peer_info& peer() const noexcept { return peer_; }

    ssl_stream& stream() noexcept { return stream_; }

private:
    std::vector<std::uint8_t> tx_;  // OpenSSL writes one buffer per record: gather small packets first
    ssl_context_ptr context_;  // keeps the context this connection was made with alive across a reload
    ssl_stream stream_;
    peer_info peer_;
};

static_assert(transport<tls_transport>);

// The CN of the verified peer certificate, or "" when the peer sent none.
std::string peer_common_name(SSL* ssl);

}  // namespace mqttd::net
