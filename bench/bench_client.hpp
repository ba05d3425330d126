#pragma once
// One MQTT client connection of the load generator (mqttd_bench.cpp), on Boost.Asio callbacks.
// Owned by the generator's single thread: every client lives on one io_context and is never touched elsewhere.
//
// Connecting is asynchronous (so thousands can be opened at once): TCP connect, CONNECT, CONNACK, then an
// optional SUBSCRIBE and its SUBACK, and the owner's on_ready(). After that every packet goes to on_packet().
// Packets out are encoded into one buffer and written in batches, one write in flight at a time: what a handler
// sends after another send() goes in the same write. In the steady state nothing is allocated per message: both
// write buffers and the read buffer keep their capacity, and the decoder fills one packet value in place.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"
#include "protocol/packet.hpp"

namespace mqttd::bench {

namespace asio = boost::asio;

class client;

// What a client reports to whoever drives it (the scenario).
class client_owner {
public:
    virtual void on_ready(client& c) = 0;                                        // CONNACK (and SUBACK) in
    virtual void on_packet(client& c, const protocol::packet& p) = 0;           // every later packet
    virtual void on_failed(client& c, const std::string& why) = 0;              // connect, I/O or protocol error

protected:
    ~client_owner() = default;
};

class client {
public:
    // index: the owner's number for this client (publisher n, subscriber n, ...). read_size: bytes read at once;
    // the read buffer is allocated at the first read, so an idle connection holds only this much.
    client(asio::io_context& io, client_owner& owner, std::size_t index, std::size_t read_size)
        : io_{io}, owner_{owner}, socket_{io}, index_{index}, read_size_{read_size} {}

    client(const client&) = delete;
    client& operator=(const client&) = delete;

    std::size_t index() const noexcept { return index_; }
    bool is_ready() const noexcept { return is_ready_; }

    // Connects, sends CONNECT (clean session), waits for CONNACK 0, then subscribes to filter at qos when
    // filter is not empty. on_ready() or on_failed() follows.
    void start(const asio::ip::tcp::endpoint& broker, std::string client_id, std::uint16_t keep_alive,
               std::string filter, protocol::qos qos) {
        client_id_ = std::move(client_id);
        filter_ = std::move(filter);
        filter_qos_ = qos;
        keep_alive_ = keep_alive;
        socket_.async_connect(broker, [this](boost::system::error_code ec) {
            if (ec) return fail("connect: " + ec.message());
            socket_.set_option(asio::ip::tcp::no_delay{true}, ec);
            protocol::connect request;
            request.client_id = client_id_;
            request.keep_alive = keep_alive_;
            send(request);
            read();
        });
    }

    void send(const protocol::packet& p) {
        const auto n = protocol::encoded_size(p);
        const auto at = out_.size();
        out_.resize(at + n);
        protocol::encode(p, {out_.data() + at, n});
        if (!is_writing_ && !is_flush_posted_) {
            is_flush_posted_ = true;
            asio::post(io_, [this] {
                is_flush_posted_ = false;
                flush();
            });
        }
    }

    // Bytes queued here and not yet handed to the kernel.
    std::size_t unsent_bytes() const noexcept { return out_.size() + writing_.size(); }

    // DISCONNECT sent: the broker's close that follows is expected, not a failure.
    void disconnect() {
        if (is_failed_ || !socket_.is_open()) return;
        is_closing_ = true;
        send(protocol::disconnect{});
    }

    void close() {
        is_closing_ = true;
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

private:
    void flush() {
        if (is_writing_ || out_.empty() || is_failed_) return;
        writing_.swap(out_);
        is_writing_ = true;
        asio::async_write(socket_, asio::buffer(writing_), [this](boost::system::error_code ec, std::size_t) {
            is_writing_ = false;
            writing_.clear();
            if (ec) return fail("write: " + ec.message());
            flush();
        });
    }

    void read() {
        if (in_.size() - used_ < read_size_) in_.resize(used_ + read_size_);
        socket_.async_read_some(asio::buffer(in_.data() + used_, in_.size() - used_),
                                [this](boost::system::error_code ec, std::size_t n) {
                                    if (ec) return fail("read: " + ec.message());
                                    used_ += n;
                                    if (decode()) read();
                                });
    }

    // False once the client failed.
    bool decode() {
        std::size_t at = 0;
        while (!is_failed_) {
            std::error_code ec;
            const auto n = decoder_.next({in_.data() + at, used_ - at}, packet_, ec);
            if (ec) {
                fail("decode: " + ec.message());
                break;
            }
            if (n == 0) break;
            at += n;
            if (is_ready_) {
                owner_.on_packet(*this, packet_);
            } else {
                handshake(packet_);
            }
        }
        std::copy(in_.begin() + static_cast<std::ptrdiff_t>(at), in_.begin() + static_cast<std::ptrdiff_t>(used_),
                  in_.begin());
        used_ -= at;
        return !is_failed_;
    }

    void handshake(const protocol::packet& p) {
        if (const auto* ack = std::get_if<protocol::connack>(&p)) {
            if (ack->code != protocol::connack_code::accepted) return fail("CONNACK refused");
            if (filter_.empty()) return ready();
            protocol::subscribe request;
            request.id = 1;
            request.subscriptions.push_back({filter_, filter_qos_});
            send(request);
        } else if (const auto* sub = std::get_if<protocol::suback>(&p)) {
            if (sub->return_codes.size() != 1 || sub->return_codes[0] == protocol::suback_failure) {
                return fail("SUBACK refused");
            }
            ready();
        } else {
            fail("unexpected packet before CONNACK/SUBACK");
        }
    }

    void ready() {
        is_ready_ = true;
        owner_.on_ready(*this);
    }

    void fail(const std::string& why) {
        if (is_failed_ || is_closing_) return;
        is_failed_ = true;
        owner_.on_failed(*this, why);
    }

    asio::io_context& io_;
    client_owner& owner_;
    asio::ip::tcp::socket socket_;
    std::size_t index_;
    std::size_t read_size_;
    std::string client_id_, filter_;
    protocol::qos filter_qos_ = protocol::qos::at_most_once;
    std::uint16_t keep_alive_ = 0;
    protocol::decoder decoder_;
    protocol::packet packet_;
    std::vector<std::uint8_t> in_;
    std::size_t used_ = 0;
    std::vector<std::uint8_t> out_, writing_;
    bool is_writing_ = false;
    bool is_flush_posted_ = false;
    bool is_failed_ = false;
    bool is_closing_ = false;
    bool is_ready_ = false;
};

}  // namespace mqttd::bench
