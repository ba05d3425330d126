#pragma once
// Encodes packets to wire bytes. Pure functions; the caller owns the output buffer.
// Encoding does not validate: callers build packets from validated data (decoded input, config, or the
// broker's own state). Use protocol::validate_* first when the data comes from elsewhere.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/packet.hpp"

namespace mqttd::protocol {

std::size_t encoded_size(const packet& p);

// out.size() must equal encoded_size(p).
void encode(const packet& p, std::span<std::uint8_t> out);

// Convenience for tests and control packets: a new vector holding the bytes.
std::vector<std::uint8_t> encode(const packet& p);

// Remaining-length varint [MQTT-2.2.3]: writes 1..4 bytes at out, returns the count.
std::size_t encode_remaining_length(std::size_t value, std::uint8_t* out) noexcept;
std::size_t remaining_length_size(std::size_t value) noexcept;

}  // namespace mqttd::protocol
