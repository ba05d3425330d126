#pragma once
// Outgoing packets of one connection, waiting for the next write. Packets are encoded into one contiguous byte
// buffer, so a burst of small PUBLISHes and acknowledgements leaves in one buffer of one writev; only a large
// payload is written from the shared message itself (never copied), as its own buffer. Nothing is allocated
// while the queue is empty, so an idle connection costs no buffer. Owned by one connection.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "broker/core/effects.hpp"

namespace mqttd::net {

class write_queue {
public:
    // Payloads at least this long are written from the message; shorter ones are copied (cheaper than a
    // buffer of their own: Asio writes at most 64 buffers per writev).
    static constexpr std::size_t large_payload = 512;
    // A batch closes past this many bytes, so one write makes measurable progress (write_timeout).
    static constexpr std::size_t batch_bytes = 256 * 1024;

    void push(const core::send_packet& p);
    void push(const core::send_publish& p);

    bool is_empty() const noexcept { return !state_ || state_->batches.size() == state_->first; }
    // Wire bytes queued or being written.
    std::size_t queued_bytes() const noexcept { return state_ ? state_->queued_bytes + state_->writing.wire : 0; }
    // What the queue holds in memory: its bytes, and the messages it keeps alive for their payloads.
    std::size_t backlog_bytes() const noexcept { return queued_bytes(); }

    // Takes the oldest batch and returns buffers over it for one gathered write; they stay valid until
    // release_written().
    const std::vector<boost::asio::const_buffer>& take_batch();
    // The buffers take_batch() last returned, until release_written().
    const std::vector<boost::asio::const_buffer>& taken_batch() const noexcept { return state_->buffers; }
    // When the broker received each routed PUBLISH in the batch being written (for the latency histogram);
    // valid until release_written(). Retained messages sent on subscribe and messages read back from storage
    // have no receive time that means anything, and are left out.
    const std::vector<core::message::time_point>& written_received_times() const noexcept {
        return state_->writing.received;
    }
    void release_written();

private:
    struct payload_ref {
        std::size_t at;  // where the payload goes in `bytes`
        core::message_ptr msg;
    };
    struct batch {
        std::vector<std::uint8_t> bytes;
        std::vector<payload_ref> payloads;
        std::vector<core::message::time_point> received;
        std::size_t wire = 0;  // bytes + the payloads' bytes
    };

    struct state {
        std::vector<batch> batches;  // [first, size()) are queued
        std::size_t first = 0;
        batch writing;
        std::vector<boost::asio::const_buffer> buffers;
        std::size_t queued_bytes = 0;
    };

    batch& open_batch(std::size_t adding);

    // Allocated by the first push and freed once everything is written: an idle connection holds one pointer.
    std::unique_ptr<state> state_;
};

}  // namespace mqttd::net
