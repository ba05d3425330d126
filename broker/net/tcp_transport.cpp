#include "broker/net/tcp_transport.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

#include <sys/socket.h>
#include <sys/uio.h>

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

void set_no_delay([[maybe_unused]] tcp_socket& socket) {
#ifndef __linux__
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay{true}, ignored);
#endif
}

tcp_transport::tcp_transport(tcp_socket socket, std::string peer_address) : socket_{std::move(socket)} {
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

io_result tcp_transport::try_write(std::span<const asio::const_buffer> buffers) {
    std::array<iovec, 64> iov{};  // more buffers than that: the rest goes in the next write
    const auto count = std::min(buffers.size(), iov.size());
    for (std::size_t i = 0; i < count; ++i) iov[i] = {const_cast<void*>(buffers[i].data()), buffers[i].size()};
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    for (;;) {
        const auto n = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return {boost::system::error_code{}, static_cast<std::size_t>(n)};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {asio::error::would_block, 0};
        return {boost::system::error_code{errno, boost::system::system_category()}, 0};
    }
}

void tcp_transport::close() {
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace mqttd::net
