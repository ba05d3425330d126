#pragma once
// The one stream concept every listener type provides (ARCHITECTURE.md): bytes in, bytes out, a handshake,
// a close and the peer's identity. The connection and the session above it never learn which one they run on.

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <system_error>
#include <tuple>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace mqttd::net {

// The socket every transport runs on, bound to its worker's io_context by type rather than through
// any_io_executor: the socket and each operation on it (an idle connection's readiness wait among them) are
// smaller by a polymorphic executor each, and calls on it are direct.
using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// What auth and the logs may know about the other end.
struct peer_info {
    std::string address;  // "127.0.0.1:53122" or "[::1]:53122"
};
// TLS and WSS transports also have cert_cn(): the client certificate's CN, empty when there is none (not kept
// in peer_info, where every plain TCP connection would carry an empty string).

using io_result = std::tuple<boost::system::error_code, std::size_t>;

template <class T>
concept transport = requires(T& t, boost::asio::mutable_buffer b, std::span<const boost::asio::const_buffer> bs) {
    { t.handshake() } -> std::same_as<boost::asio::awaitable<boost::system::error_code>>;
    { t.read_some(b) } -> std::same_as<boost::asio::awaitable<io_result>>;  // framing stripped for WS
    { t.write_all(bs) } -> std::same_as<boost::asio::awaitable<io_result>>;  // one gathered write
    { t.close() } -> std::same_as<void>;
    { t.peer() } -> std::same_as<const peer_info&>;
};

// EOF, reset and aborts are how connections normally end: logged at debug, not warning.
bool is_normal_close(const boost::system::error_code& ec) noexcept;

}  // namespace mqttd::net
