#include "broker/net/ws_transport.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/logging/log.hpp"
#include "broker/net/tcp_transport.hpp"
#include "broker/net/tls_transport.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string choose_mqtt_subprotocol(std::string_view offered) {
    bool has_mqtt = false;
    bool has_v31 = false;
    while (!offered.empty()) {
        const auto comma = offered.find(',');
        auto item = offered.substr(0, comma);
        offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        has_mqtt = has_mqtt || item == "mqtt";
        has_v31 = has_v31 || item == "mqttv3.1";
    }
    return has_mqtt ? "mqtt" : has_v31 ? "mqttv3.1" : "";
}

std::optional<upgrade_refusal> check_upgrade(const http::request<http::string_body>& req,
                                             const websocket_options& options) {
    if (!websocket::is_upgrade(req))
        return upgrade_refusal{http::status::upgrade_required,
                               "This is an MQTT over WebSocket endpoint. Connect an MQTT client to ws(s)://<host>:<port>" +
                                   options.path + " with the \"mqtt\" subprotocol."};
    const auto target = std::string_view{req.target()};
    const auto path = target.substr(0, target.find('?'));
    if (path != options.path)
        return upgrade_refusal{http::status::not_found, "no MQTT endpoint at " + std::string{path} + "; use " + options.path};
    if (!options.allowed_origins.empty()) {
        const auto origin = std::string{req[http::field::origin]};
        if (std::find(options.allowed_origins.begin(), options.allowed_origins.end(), origin) ==
            options.allowed_origins.end())
            return upgrade_refusal{http::status::forbidden, "origin \"" + origin + "\" is not allowed"};
    }
    if (choose_mqtt_subprotocol(req[http::field::sec_websocket_protocol]).empty())
        return upgrade_refusal{http::status::bad_request,
                               "Sec-WebSocket-Protocol must offer \"mqtt\" (or \"mqttv3.1\")"};
    return std::nullopt;
}

http::response<http::string_body> refusal_response(const http::request<http::string_body>& req,
                                                   const upgrade_refusal& refusal) {
    http::response<http::string_body> res{refusal.status, req.version()};
    res.set(http::field::server, "mqttd");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (refusal.status == http::status::upgrade_required) {
        res.set(http::field::upgrade, "websocket");
        res.set(http::field::connection, "Upgrade");
    }
    res.keep_alive(false);
    res.body() = refusal.reason + "\n";
    res.prepare_payload();
    return res;
}

template <class NextLayer>
NextLayer ws_transport<NextLayer>::make_next_layer(tcp_socket socket, const ssl_context_ptr& context) {
    if constexpr (is_secure) {
        return NextLayer{std::move(socket), context};
    } else {
        return socket;
    }
}

template <class NextLayer>
ws_transport<NextLayer>::ws_transport(tcp_socket socket, std::string peer_address,
                                      const websocket_options& options, std::size_t max_message_size,
                                      ssl_context_ptr context)
    : ws_{make_next_layer(std::move(socket), context)},
      options_{options},
      max_message_size_{max_message_size} {
    peer_.address = std::move(peer_address);
    set_no_delay(beast::get_lowest_layer(ws_));
}

template <class NextLayer>
asio::awaitable<boost::system::error_code> ws_transport<NextLayer>::handshake() {
    if constexpr (is_secure) {
        auto [ec] = co_await ws_.next_layer().async_handshake(as_tuple_awaitable);
        if (ec) co_return ec;
        cert_cn_ = peer_common_name(ws_.next_layer().native_handle());
    }
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);  // an upgrade request is small; refuse to buffer a flood
    parser.body_limit(16 * 1024);
    if (auto [ec, n] = co_await http::async_read(ws_.next_layer(), buffer, parser, as_tuple_awaitable); ec)
        co_return ec;
    const auto& req = parser.get();
    if (const auto refusal = check_upgrade(req, options_)) {
        logging::log_line{logging::level::info} << "event=websocket_refused addr=" << peer_.address
                                                << " status=" << static_cast<unsigned>(refusal->status)
                                                << " reason=" << logging::quoted{refusal->reason};
        auto res = refusal_response(req, *refusal);
        co_await http::async_write(ws_.next_layer(), res, as_tuple_awaitable);
        co_return make_error_code(boost::system::errc::protocol_error);
    }
    const auto subprotocol = choose_mqtt_subprotocol(req[http::field::sec_websocket_protocol]);
    ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
        res.set(http::field::server, "mqttd");
        res.set(http::field::sec_websocket_protocol, subprotocol);
    }));
    ws_.binary(true);  // [MQTT-6.0.0-1]
    ws_.auto_fragment(false);
    ws_.read_message_max(max_message_size_);
    auto [ec] = co_await ws_.async_accept(req, as_tuple_awaitable);
    co_return ec;
}

template <class NextLayer>
asio::awaitable<io_result> ws_transport<NextLayer>::read_some(asio::mutable_buffer b) {
    auto [ec, n] = co_await ws_.async_read_some(b, as_tuple_awaitable);
    // [MQTT-6.0.0-1] anything but binary data frames closes the connection.
    if (!ec && ws_.got_text()) ec = make_error_code(boost::system::errc::protocol_error);
    co_return io_result{ec, n};
}

template <class NextLayer>
asio::awaitable<io_result> ws_transport<NextLayer>::write_all(std::span<const asio::const_buffer> buffers) {
    // One gathered write becomes one binary message.
    co_return co_await ws_.async_write(buffers, as_tuple_awaitable);
}

template <class NextLayer>
void ws_transport<NextLayer>::close() {
    auto& tcp = beast::get_lowest_layer(ws_);
    boost::system::error_code ignored;
    tcp.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp.close(ignored);
}

template class ws_transport<tcp_socket>;
template class ws_transport<wss_next_layer>;

static_assert(transport<ws_transport<tcp_socket>>);
static_assert(transport<ws_transport<wss_next_layer>>);

}  // namespace mqttd::net
