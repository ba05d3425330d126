#pragma once
// An idle MQTT connection over TCP, TLS or WebSocket for the load generator's `conns` scenario: connect, TLS
// handshake or WebSocket upgrade (subprotocol "mqtt"), CONNECT, CONNACK 0, then nothing more until it is closed.
// Owned by the generator's single thread, like every client.
// TLS does not verify the broker's certificate: the generator measures brokers on loopback, it trusts nothing.

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include "protocol/encoder.hpp"
#include "protocol/packet.hpp"

namespace mqttd::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;

class idle_client {
public:
    // Called once: an empty string when CONNACK 0 arrived, else why the connection failed.
    using done_handler = std::function<void(const std::string& error)>;

    virtual ~idle_client() = default;
    virtual void start(const asio::ip::tcp::endpoint& broker, std::string client_id, std::uint16_t keep_alive,
                       done_handler done) = 0;
    virtual void close() = 0;

protected:
    static std::vector<std::uint8_t> connect_bytes(const std::string& client_id, std::uint16_t keep_alive) {
        protocol::connect request;
        request.client_id = client_id;
        request.keep_alive = keep_alive;
        return protocol::encode(request);
    }

    // Closed with a reset rather than a FIN: the generator would otherwise leave every connection in TIME_WAIT
    // for a minute, on ports it needs for the next run (10,000 connections a run, 28,000 ephemeral ports), and
    // the kernel's search for a free port made the next run's connects several times dearer.
    static void reset(asio::ip::tcp::socket& socket) {
        boost::system::error_code ignored;
        socket.set_option(asio::socket_base::linger{true, 0}, ignored);
        socket.close(ignored);
    }

    static bool is_connack_accepted(const std::uint8_t* bytes, std::size_t n) {
        return n == 4 && bytes[0] == 0x20 && bytes[1] == 0x02 && bytes[3] == 0x00;
    }
};

// The cheapest client the generator can be, since on a machine it shares with the broker its own CPU bounds the
// connect rate: a non-blocking connect() and, as on loopback the handshake is usually complete when it returns,
// the CONNECT written at once (after a wait for writability only when it is not). No TCP_NODELAY: CONNECT is the
// one segment it sends, which Nagle's algorithm never delays. 6 system calls per connection instead of Asio's
// async_connect + async_write's 11 (poll, getsockopt and an epoll_ctl for the connect's completion among them).
class tcp_idle_client final : public idle_client {
public:
    explicit tcp_idle_client(asio::io_context& io) : socket_{io} {}

    void start(const asio::ip::tcp::endpoint& broker, std::string client_id, std::uint16_t keep_alive,
               done_handler done) override {
        done_ = std::move(done);
        out_ = connect_bytes(client_id, keep_alive);
        boost::system::error_code ec;
        socket_.open(broker.protocol(), ec);
        if (!ec) socket_.non_blocking(true, ec);
        if (!ec && ::connect(socket_.native_handle(), broker.data(), static_cast<socklen_t>(broker.size())) != 0 &&
            errno != EINPROGRESS)
            ec.assign(errno, boost::system::system_category());
        if (ec) return done_("connect: " + ec.message());
        write_connect();
    }

    void close() override { reset(socket_); }

private:
    void write_connect() {
        boost::system::error_code ec;
        const auto n = socket_.write_some(asio::buffer(out_), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {  // still connecting
            socket_.async_wait(asio::ip::tcp::socket::wait_write, [this](boost::system::error_code ec) {
                if (ec) return done_("connect: " + ec.message());
                write_connect();
            });
            return;
        }
        if (ec) return done_("connect: " + ec.message());
        if (n != out_.size()) return done_("write: a short write of CONNECT");
        asio::async_read(socket_, asio::buffer(in_), [this](boost::system::error_code ec, std::size_t n) {
            if (ec) return done_("read: " + ec.message());
            out_ = {};
            done_(is_connack_accepted(in_, n) ? "" : "CONNACK refused");
        });
    }

    asio::ip::tcp::socket socket_;
    done_handler done_;
    std::vector<std::uint8_t> out_;
    std::uint8_t in_[4] = {};
};

class tls_idle_client final : public idle_client {
public:
    tls_idle_client(asio::io_context& io, asio::ssl::context& tls) : stream_{io, tls} {}

    void start(const asio::ip::tcp::endpoint& broker, std::string client_id, std::uint16_t keep_alive,
               done_handler done) override {
        done_ = std::move(done);
        out_ = connect_bytes(client_id, keep_alive);
        stream_.next_layer().async_connect(broker, [this](boost::system::error_code ec) {
            if (ec) return done_("connect: " + ec.message());
            stream_.next_layer().set_option(asio::ip::tcp::no_delay{true}, ec);
            stream_.async_handshake(asio::ssl::stream_base::client, [this](boost::system::error_code ec) {
                if (ec) return done_("TLS handshake: " + ec.message());
                asio::async_write(stream_, asio::buffer(out_), [this](boost::system::error_code ec, std::size_t) {
                    if (ec) return done_("write: " + ec.message());
                    asio::async_read(stream_, asio::buffer(in_), [this](boost::system::error_code ec, std::size_t n) {
                        if (ec) return done_("read: " + ec.message());
                        done_(is_connack_accepted(in_, n) ? "" : "CONNACK refused");
                    });
                });
            });
        });
    }

    void close() override { reset(stream_.next_layer()); }

private:
    asio::ssl::stream<asio::ip::tcp::socket> stream_;
    done_handler done_;
    std::vector<std::uint8_t> out_;
    std::uint8_t in_[4] = {};
};

class ws_idle_client final : public idle_client {
public:
    ws_idle_client(asio::io_context& io, std::string path) : ws_{io}, path_{std::move(path)} {}

    void start(const asio::ip::tcp::endpoint& broker, std::string client_id, std::uint16_t keep_alive,
               done_handler done) override {
        done_ = std::move(done);
        out_ = connect_bytes(client_id, keep_alive);
        host_ = broker.address().to_string() + ":" + std::to_string(broker.port());
        beast::get_lowest_layer(ws_).async_connect(broker, [this](boost::system::error_code ec) {
            if (ec) return done_("connect: " + ec.message());
            beast::get_lowest_layer(ws_).socket().set_option(asio::ip::tcp::no_delay{true}, ec);
            ws_.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& req) {
                req.set(beast::http::field::sec_websocket_protocol, "mqtt");
            }));
            ws_.async_handshake(host_, path_, [this](boost::system::error_code ec) {
                if (ec) return done_("WebSocket upgrade: " + ec.message());
                ws_.binary(true);
                ws_.async_write(asio::buffer(out_), [this](boost::system::error_code ec, std::size_t) {
                    if (ec) return done_("write: " + ec.message());
                    ws_.async_read(in_, [this](boost::system::error_code ec, std::size_t) {
                        if (ec) return done_("read: " + ec.message());
                        const auto data = in_.cdata();
                        done_(is_connack_accepted(static_cast<const std::uint8_t*>(data.data()), data.size())
                                  ? ""
                                  : "CONNACK refused");
                        in_.clear();
                        in_.shrink_to_fit();
                    });
                });
            });
        });
    }

    void close() override { reset(beast::get_lowest_layer(ws_).socket()); }

private:
    beast::websocket::stream<beast::tcp_stream> ws_;
    std::string path_, host_;
    done_handler done_;
    std::vector<std::uint8_t> out_;
    beast::flat_buffer in_;
};

}  // namespace mqttd::bench
