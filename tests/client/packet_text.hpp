#pragma once
// Packets as script text: building a packet from `send` arguments, checking one against `expect` arguments,
// and describing a received packet in the same syntax, so a failure message can be pasted back into a script.
// Pure functions over values; no I/O.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "protocol/packet.hpp"
#include "script_line.hpp"

namespace mqttd::test_client {

// The bytes a built packet's views point into; keep it alive until the packet is encoded.
struct packet_storage {
    std::deque<std::vector<std::uint8_t>> bytes;
};

std::optional<protocol::packet_type> packet_type_from_name(const std::string& name);
std::string packet_type_name(protocol::packet_type type);

// Reads every argument the packet type takes; the caller calls args.finish().
protocol::packet build_packet(protocol::packet_type type, const arguments& args, packet_storage& storage);

// The fields named in `expected` that `actual` does not match, as "field: expected X, got Y"; empty when it
// matches. Fields not named are not checked. The caller checks the type first and calls args.finish().
std::vector<std::string> mismatches(const arguments& expected, const protocol::packet& actual);

// One line in script syntax, e.g. "publish topic=a/b qos=1 id=7 dup=0 retain=0 payload=hello".
std::string describe(const protocol::packet& packet);

// The packet identifier a packet carries, if its type has one (PUBLISH only at QoS > 0).
std::optional<protocol::packet_id> packet_id_of(const protocol::packet& packet);

}  // namespace mqttd::test_client
