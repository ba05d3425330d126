// ws_transport against a real Beast WebSocket client on loopback: MQTT bytes must come out the same however
// the client cuts them into frames and messages [MQTT-6.0.0-2].

#include "broker/net/ws_transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/websocket.hpp>
#include <doctest/doctest.h>

#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace mqttd;

namespace {

using client_stream = websocket::stream<tcp::socket>;

std::vector<std::uint8_t> publish_bytes(std::string_view topic, std::size_t payload_size, std::uint16_t id) {
    std::vector<std::uint8_t> payload(payload_size);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
    return protocol::encode(protocol::publish{false, protocol::qos::at_least_once, false, topic, id, payload});
}

// Runs the server side on `ioc`: handshake, then reads until `expected` packets decoded or an error.
struct server_side {
    std::vector<protocol::packet> packets;
    std::vector<std::vector<std::uint8_t>> storage;  // keeps decoded views alive
    boost::system::error_code error;
};

asio::awaitable<void> serve(asio::io_context& ioc, tcp::acceptor& acceptor, net::websocket_options& options,
                            std::size_t expected, server_side& out) {
    net::tcp_socket socket{ioc};
    co_await acceptor.async_accept(socket, asio::use_awaitable);
    net::ws_transport<net::tcp_socket> transport{std::move(socket), "127.0.0.1:1", options, 1 << 20};
    if (auto ec = co_await transport.handshake(); ec) {
        out.error = ec;
        co_return;
    }
    std::vector<std::uint8_t> rx;
    const protocol::decoder decoder;
    std::array<std::uint8_t, 7> chunk{};  // small reads: frames and reads must not line up
    while (out.packets.size() < expected) {
        auto [ec, n] = co_await transport.read_some(asio::buffer(chunk));
        if (ec) {
            out.error = ec;
            co_return;
        }
        rx.insert(rx.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        for (;;) {
            protocol::packet p;
            std::error_code dec_ec;
            const auto used = decoder.next(rx, p, dec_ec);
            REQUIRE_FALSE(dec_ec);
            if (used == 0) break;
            out.storage.emplace_back(rx.begin(), rx.begin() + static_cast<std::ptrdiff_t>(used));
            rx.erase(rx.begin(), rx.begin() + static_cast<std::ptrdiff_t>(used));
            protocol::packet again;
            decoder.next(out.storage.back(), again, dec_ec);
            out.packets.push_back(again);
        }
    }
}

// Connects a client offering `subprotocol`, runs `send` on it, and returns what the server decoded.
template <class Send>
server_side exchange(std::size_t expected, Send send, const char* subprotocol = "mqtt") {
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    net::websocket_options options;
    server_side result;
    auto done = asio::co_spawn(ioc, serve(ioc, acceptor, options, expected, result), asio::use_future);
    std::thread server_thread{[&] { ioc.run(); }};

    asio::io_context client_ioc;
    client_stream client{client_ioc};
    client.next_layer().connect(acceptor.local_endpoint());
    client.set_option(websocket::stream_base::decorator(
        [subprotocol](websocket::request_type& req) { req.set(http::field::sec_websocket_protocol, subprotocol); }));
    boost::system::error_code ec;
    websocket::response_type response;
    client.handshake(response, "127.0.0.1", "/mqtt", ec);
    if (!ec) {
        CHECK(response[http::field::sec_websocket_protocol] == subprotocol);
        client.binary(true);
        send(client);
    }
    server_thread.join();
    done.get();
    return result;
}

void check_publish(const protocol::packet& p, std::string_view topic, std::size_t payload_size, std::uint16_t id) {
    const auto* publish = std::get_if<protocol::publish>(&p);
    REQUIRE(publish != nullptr);
    CHECK(publish->topic == topic);
    CHECK(publish->id == id);
    REQUIRE(publish->payload.size() == payload_size);
    for (std::size_t i = 0; i < payload_size; ++i)
        if (publish->payload[i] != static_cast<std::uint8_t>(i * 7)) FAIL("payload differs at " << i);
}

}  // namespace

TEST_CASE("ws_transport: a packet split across 3 WebSocket messages arrives whole [MQTT-6.0.0-2]") {
    const auto bytes = publish_bytes("a/b", 1000, 1);
    const auto result = exchange(1, [&](client_stream& c) {
        c.write(asio::buffer(bytes.data(), 3));
        c.write(asio::buffer(bytes.data() + 3, 500));
        c.write(asio::buffer(bytes.data() + 503, bytes.size() - 503));
    });
    CHECK_FALSE(result.error);
    REQUIRE(result.packets.size() == 1);
    check_publish(result.packets[0], "a/b", 1000, 1);
}

TEST_CASE("ws_transport: a packet split across 3 frames of one fragmented message arrives whole [MQTT-6.0.0-2]") {
    const auto bytes = publish_bytes("frag", 300, 9);
    const auto result = exchange(1, [&](client_stream& c) {
        c.write_some(false, asio::buffer(bytes.data(), 1));
        c.write_some(false, asio::buffer(bytes.data() + 1, 100));
        c.write_some(true, asio::buffer(bytes.data() + 101, bytes.size() - 101));
    });
    CHECK_FALSE(result.error);
    REQUIRE(result.packets.size() == 1);
    check_publish(result.packets[0], "frag", 300, 9);
}

TEST_CASE("ws_transport: 3 packets in one frame arrive as 3 packets [MQTT-6.0.0-2]") {
    std::vector<std::uint8_t> bytes;
    for (std::uint16_t id = 1; id <= 3; ++id) {
        const auto one = publish_bytes("t/" + std::to_string(id), 10 * id, id);
        bytes.insert(bytes.end(), one.begin(), one.end());
    }
    const auto result = exchange(3, [&](client_stream& c) { c.write(asio::buffer(bytes)); });
    CHECK_FALSE(result.error);
    REQUIRE(result.packets.size() == 3);
    for (std::uint16_t id = 1; id <= 3; ++id)
        check_publish(result.packets[id - 1u], "t/" + std::to_string(id), 10u * id, id);
}

TEST_CASE("ws_transport: a text frame is refused [MQTT-6.0.0-1]") {
    const auto bytes = publish_bytes("t", 4, 1);
    const auto result = exchange(1, [&](client_stream& c) {
        c.text(true);
        c.write(asio::buffer(bytes));
    });
    CHECK(result.error);
    CHECK(result.packets.empty());
}

TEST_CASE("ws_transport: the legacy subprotocol mqttv3.1 is accepted and echoed") {
    const auto bytes = publish_bytes("old", 2, 4);
    const auto result = exchange(1, [&](client_stream& c) { c.write(asio::buffer(bytes)); }, "mqttv3.1");
    CHECK_FALSE(result.error);
    CHECK(result.packets.size() == 1);
}

TEST_CASE("choose_mqtt_subprotocol: mqtt first, then mqttv3.1, else refuse [MQTT-6.0.0-3]") {
    CHECK(net::choose_mqtt_subprotocol("mqtt") == "mqtt");
    CHECK(net::choose_mqtt_subprotocol("mqttv3.1, mqtt") == "mqtt");
    CHECK(net::choose_mqtt_subprotocol(" mqttv3.1 ") == "mqttv3.1");
    CHECK(net::choose_mqtt_subprotocol("chat, superchat").empty());
    CHECK(net::choose_mqtt_subprotocol("").empty());
    CHECK(net::choose_mqtt_subprotocol("mqttx").empty());
}

TEST_CASE("check_upgrade: path, Origin, subprotocol and plain GET are refused with the right status") {
    net::websocket_options options;
    options.allowed_origins = {"http://ok.example"};
    http::request<http::string_body> req{http::verb::get, "/mqtt", 11};
    CHECK(net::check_upgrade(req, options)->status == http::status::upgrade_required);
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    req.set(http::field::origin, "http://ok.example");
    CHECK(net::check_upgrade(req, options)->status == http::status::bad_request);
    req.set(http::field::sec_websocket_protocol, "mqtt");
    CHECK_FALSE(net::check_upgrade(req, options));
    req.set(http::field::origin, "http://evil.example");
    CHECK(net::check_upgrade(req, options)->status == http::status::forbidden);
    req.set(http::field::origin, "http://ok.example");
    req.target("/other");
    CHECK(net::check_upgrade(req, options)->status == http::status::not_found);
    req.target("/mqtt?x=1");
    CHECK_FALSE(net::check_upgrade(req, options));
}
