#include "broker/net/tcp_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/error.hpp>

namespace mqttd::net {

namespace asio = boost::asio;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

bool is_normal_close(const boost::system::error_code& ec) noexcept {
    return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
           ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor ||
           ec == asio::ssl::error::stream_truncated || ec == boost::beast::websocket::error::closed;
}

std::string format_endpoint(const asio::ip::tcp::endpoint& ep) {
    const auto address = ep.address();
    const auto text = address.to_string();
    return (address.is_v6() ? "[" + text + "]" : text) + ":" + std::to_string(ep.port());
}

void set_no_delay([[maybe_unused]] asio::ip::tcp::socket& socket) {
#ifndef __linux__
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay{true}, ignored);
#endif
}

tcp_transport::tcp_transport(asio::ip::tcp::socket socket, std::string peer_address) : socket_{std::move(socket)} {
    peer_.address = std::move(peer_address);
    set_no_delay(socket_);
}

asio::awaitable<boost::system::error_code> tcp_transport::handshake() { co_return boost::system::error_code{}; }

asio::awaitable<io_result> tcp_transport::read_some(asio::mutable_buffer b) {
    co_return co_await socket_.async_read_some(b, as_tuple_awaitable);
}

asio::awaitable<io_result> tcp_transport::write_all(std::span<const asio::const_buffer> buffers) {
    co_return co_await asio::async_write(socket_, buffers, as_tuple_awaitable);
}

void tcp_transport::close() {
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace mqttd::net
