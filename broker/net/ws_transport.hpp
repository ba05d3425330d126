#pragma once
// MQTT over WebSocket (Boost.Beast), on plain TCP (ws) or TLS (wss). The handshake reads the HTTP upgrade
// itself so that it can refuse, with a status and a reason, a request for another path, from a disallowed
// Origin, or without the "mqtt"/"mqttv3.1" subprotocol [MQTT-6.0.0-3]; a plain GET gets a short page.
// After that the stream is bytes again: frame boundaries mean nothing to MQTT [MQTT-6.0.0-2].

#include <memory>
#include <string>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "broker/net/server_options.hpp"
#include "broker/net/tls_context.hpp"
#include "broker/net/tls_stream.hpp"
#include "broker/net/transport.hpp"

namespace mqttd::net {

// wss: the websocket runs on the same TLS stream as the tls listener (tls_stream.hpp).
using wss_next_layer = tls_stream;

// Picks the subprotocol to answer with from a Sec-WebSocket-Protocol header: "mqtt", else "mqttv3.1" (old
// clients), else "" (refuse).
std::string choose_mqtt_subprotocol(std::string_view offered);

// Why an upgrade request is refused (status + reason), or nullopt to accept. Pure, so it is unit-tested.
struct upgrade_refusal {
    boost::beast::http::status status;
    std::string reason;
};
std::optional<upgrade_refusal> check_upgrade(const boost::beast::http::request<boost::beast::http::string_body>& req,
                                             const websocket_options& options);

boost::beast::http::response<boost::beast::http::string_body> refusal_response(
    const boost::beast::http::request<boost::beast::http::string_body>& req, const upgrade_refusal& refusal);

template <class NextLayer>
class ws_transport {
public:
    static constexpr bool is_secure = std::is_same_v<NextLayer, wss_next_layer>;

    ws_transport(tcp_socket socket, std::string peer_address, const websocket_options& options,
                 std::size_t max_message_size, ssl_context_ptr context = nullptr);

    boost::asio::awaitable<boost::system::error_code> handshake();
    boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer b);
    boost::asio::awaitable<io_result> write_all(std::span<const boost::asio::const_buffer> buffers);
    void close();
    const peer_info& peer() const noexcept { return peer_; }
    const std::string& cert_cn() const noexcept { return cert_cn_; }

private:
    static NextLayer make_next_layer(tcp_socket socket, const ssl_context_ptr& context);

    boost::beast::websocket::stream<NextLayer> ws_;
    const websocket_options& options_;
    std::size_t max_message_size_;
    peer_info peer_;
    std::string cert_cn_;  // the client certificate's, after the handshake
};

}  // namespace mqttd::net
