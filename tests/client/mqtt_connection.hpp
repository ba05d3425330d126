#pragma once
// A blocking MQTT client connection over TCP, for tests: every call takes a timeout and returns its outcome
// as a value. It sends exactly the bytes it is given and never answers anything on its own (no PINGREQ, no
// acks), so a script controls the conversation byte by byte.
// Owned by one thread: each connection runs its own io_context only inside its own calls.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "protocol/decoder.hpp"
#include "protocol/packet.hpp"

namespace mqttd::test_client {

using std::chrono::milliseconds;

// A decoded packet together with the bytes its views point into. Move-only: moving the vector keeps its
// heap buffer, so the views in `packet` stay valid.
class received_packet {
public:
    received_packet(std::vector<std::uint8_t> bytes, const protocol::decoder& decoder);
    received_packet(received_packet&&) noexcept = default;
    received_packet& operator=(received_packet&&) noexcept = default;
    received_packet(const received_packet&) = delete;
    received_packet& operator=(const received_packet&) = delete;

    const protocol::packet& packet() const noexcept { return packet_; }
    std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

private:
    std::vector<std::uint8_t> bytes_;
    protocol::packet packet_;
};

enum class receive_status { packet, closed, timed_out, failed };

struct receive_result {
    receive_status status = receive_status::failed;
    std::optional<received_packet> packet;  // set when status == packet
    std::error_code error;                  // why it closed or failed
};

class mqtt_connection {
public:
    mqtt_connection();
    ~mqtt_connection();
    mqtt_connection(const mqtt_connection&) = delete;
    mqtt_connection& operator=(const mqtt_connection&) = delete;

    std::error_code open(const std::string& host, std::uint16_t port, milliseconds timeout);
    bool is_open() const noexcept;

    std::error_code send(std::span<const std::uint8_t> bytes, milliseconds timeout);
    std::error_code send(const protocol::packet& packet, milliseconds timeout);

    // The next whole packet, or why none came within the timeout. A malformed packet from the peer is
    // `failed` with the decoder's protocol::errc.
    receive_result receive(milliseconds timeout);

    // Closes the socket without sending anything; unread bytes are discarded.
    void close() noexcept;

private:
    // Runs the io_context until `done` or the deadline; on the deadline cancels the pending operation and
    // waits for its handler, so no handler outlives the call.
    bool run_until(const bool& done, std::chrono::steady_clock::time_point deadline);
    std::optional<received_packet> take_buffered(std::error_code& ec);

    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    protocol::decoder decoder_;
    std::vector<std::uint8_t> rx_;
};

}  // namespace mqttd::test_client
