#include "mqtt_connection.hpp"

#include <array>

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include "protocol/encoder.hpp"

namespace mqttd::test_client {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock = std::chrono::steady_clock;

received_packet::received_packet(std::vector<std::uint8_t> bytes, const protocol::decoder& decoder)
    : bytes_{std::move(bytes)} {
    // The bytes were already decoded once from the receive buffer; decoding the copy cannot fail.
    std::error_code ec;
    decoder.next(bytes_, packet_, ec);
}

mqtt_connection::mqtt_connection() : socket_{io_} {}

mqtt_connection::~mqtt_connection() { close(); }

bool mqtt_connection::is_open() const noexcept { return socket_.is_open(); }

bool mqtt_connection::run_until(const bool& done, clock::time_point deadline) {
    io_.restart();
    const auto now = clock::now();
    if (deadline > now) io_.run_for(deadline - now);
    if (done) return true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    io_.run();
    return false;
}

std::error_code mqtt_connection::open(const std::string& host, std::uint16_t port, milliseconds timeout) {
    close();
    rx_.clear();
    const auto deadline = clock::now() + timeout;
    boost::system::error_code ec;
    tcp::resolver resolver{io_};
    const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return ec;

    bool done = false;
    boost::system::error_code result;
    asio::async_connect(socket_, endpoints, [&](const boost::system::error_code& e, const tcp::endpoint&) {
        result = e;
        done = true;
    });
    if (!run_until(done, deadline)) result = asio::error::timed_out;
    if (!result) socket_.set_option(tcp::no_delay{true}, result);
    if (result) close();
    return result;
}

std::error_code mqtt_connection::send(std::span<const std::uint8_t> bytes, milliseconds timeout) {
    if (!socket_.is_open()) return std::make_error_code(std::errc::not_connected);
    bool done = false;
    boost::system::error_code result;
    asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                      [&](const boost::system::error_code& e, std::size_t) {
                          result = e;
                          done = true;
                      });
    if (!run_until(done, clock::now() + timeout)) result = asio::error::timed_out;
    return result;
}

std::error_code mqtt_connection::send(const protocol::packet& packet, milliseconds timeout) {
    const auto bytes = protocol::encode(packet);
    return send(bytes, timeout);
}

std::optional<received_packet> mqtt_connection::take_buffered(std::error_code& ec) {
    protocol::packet scratch;
    const auto n = decoder_.next(rx_, scratch, ec);
    if (ec || n == 0) return std::nullopt;
    std::vector<std::uint8_t> bytes(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(n));
    rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(n));
    return received_packet{std::move(bytes), decoder_};
}

receive_result mqtt_connection::receive(milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    receive_result out;
    for (;;) {
        std::error_code decode_error;
        if (auto p = take_buffered(decode_error)) {
            out.status = receive_status::packet;
            out.packet = std::move(p);
            return out;
        }
        if (decode_error) {
            out.status = receive_status::failed;
            out.error = decode_error;
            return out;
        }
        if (!socket_.is_open()) {
            out.status = receive_status::closed;
            out.error = std::make_error_code(std::errc::not_connected);
            return out;
        }

        std::array<std::uint8_t, 16 * 1024> chunk;
        bool done = false;
        boost::system::error_code result;
        std::size_t received = 0;
        socket_.async_read_some(asio::buffer(chunk), [&](const boost::system::error_code& e, std::size_t n) {
            result = e;
            received = n;
            done = true;
        });
        const bool in_time = run_until(done, deadline);
        rx_.insert(rx_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(received));
        if (!in_time && received == 0) {
            out.status = receive_status::timed_out;
            return out;
        }
        if (result && received == 0) {
            // EOF and resets are how a broker closes a connection; anything else is a surprise.
            const bool is_close =
                result == asio::error::eof || result == asio::error::connection_reset ||
                result == asio::error::connection_aborted || result == asio::error::broken_pipe;
            out.status = is_close ? receive_status::closed : receive_status::failed;
            out.error = result;
            // Bytes that arrived before the close are still delivered first.
            std::error_code late_error;
            if (auto p = take_buffered(late_error)) {
                out.status = receive_status::packet;
                out.packet = std::move(p);
                out.error = {};
                return out;
            }
            close();
            return out;
        }
    }
}

void mqtt_connection::close() noexcept {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

}  // namespace mqttd::test_client
