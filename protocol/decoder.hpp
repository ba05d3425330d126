#pragma once
// Incremental MQTT 3.1.1 decoder. Holds limits only, no buffer: the caller keeps unconsumed bytes and calls
// next() again when more arrive, so any split of a byte stream decodes to the same packets.
// Thread-safe (const, stateless). Never allocates per byte; SUBSCRIBE/UNSUBSCRIBE/SUBACK fill one vector.

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "protocol/packet.hpp"

namespace mqttd::protocol {

// [MQTT-2.2.3] 268,435,455 bytes: the largest remaining length four bytes can carry.
inline constexpr std::size_t max_remaining_length = 268'435'455;

// Size of a whole packet once its fixed header is readable.
struct frame_header {
    std::uint8_t first_byte = 0;
    std::size_t header_size = 0;       // 2..5
    std::size_t remaining_length = 0;
    std::size_t total() const noexcept { return header_size + remaining_length; }
};

class decoder {
public:
    // max_packet_size bounds the whole packet (fixed header included).
    explicit decoder(std::size_t max_packet_size = max_remaining_length + 5) noexcept;

    // Consumes at most one packet from the front of `in`. Returns bytes consumed; 0 with !ec means "need
    // more bytes". On error returns 0 and sets ec (a protocol::errc). The size limit is checked as soon as
    // the fixed header is complete, before the body has arrived. Views inside `out` point into `in`.
    // Errors are reported as soon as the bytes that prove them are in `in`, in stream order, so every split
    // of a stream gives the same result. After an error `out` is unspecified; close the connection.
    // A SUBSCRIBE/UNSUBSCRIBE/SUBACK decoded into an `out` already holding that type reuses its vector.
    std::size_t next(std::span<const std::uint8_t> in, packet& out, std::error_code& ec) const;

    // Reads only the fixed header: returns its size (2..5), or 0 with !ec for "need more bytes". Reports the
    // same fixed-header errors as next(): type, flags, remaining length, size limit, and the remaining
    // length of packets whose length the spec fixes (CONNACK, PUBACK..PUBCOMP, UNSUBACK, PING*, DISCONNECT).
    std::size_t peek_header(std::span<const std::uint8_t> in, frame_header& out, std::error_code& ec) const;

    std::size_t max_packet_size() const noexcept { return max_packet_size_; }

private:
    std::size_t max_packet_size_;
};

}  // namespace mqttd::protocol
