#pragma once
// Outgoing packets of one connection, waiting for the next gathered write. A PUBLISH frame holds only its
// per-subscriber head (fixed header and packet id) and a reference to the shared message: the topic section
// and payload are written straight from the message's buffer, never copied. Owned by one connection.

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "broker/core/effects.hpp"

namespace mqttd::net {

class write_queue {
public:
    void push(const core::send_packet& p);
    void push(const core::send_publish& p);

    bool is_empty() const noexcept { return frames_.empty(); }
    // Wire bytes queued or being written.
    std::size_t queued_bytes() const noexcept { return queued_bytes_; }
    // What the queue costs: wire bytes plus the bookkeeping of each frame, so that a flood of 4-byte
    // PUBACKs to a client that does not read is bounded as surely as large PUBLISHes are.
    std::size_t backlog_bytes() const noexcept { return queued_bytes_ + (frames_.size() + writing_.size()) * sizeof(frame); }

    // Moves queued frames, oldest first, into the "in flight" set until about max_bytes (always at least one)
    // and returns buffers over them for one gathered write. The buffers stay valid until release_written().
    const std::vector<boost::asio::const_buffer>& take_batch(std::size_t max_bytes = static_cast<std::size_t>(-1));
    void release_written();

private:
    struct frame {
        std::array<std::uint8_t, 8> head{};  // fixed header (<= 5 bytes) or a small control packet
        std::uint8_t head_size = 0;
        std::array<std::uint8_t, 2> packet_id{};
        bool has_packet_id = false;
        core::message_ptr msg;             // PUBLISH: topic section + payload
        std::vector<std::uint8_t> body;    // control packets larger than head (SUBACK with many codes)
        std::size_t size() const noexcept;
    };

    std::deque<frame> frames_;
    std::vector<frame> writing_;
    std::vector<boost::asio::const_buffer> buffers_;
    std::size_t queued_bytes_ = 0;
};

}  // namespace mqttd::net
