#include "broker/core/message.hpp"

#include <cstring>
#include <new>
#include <type_traits>

namespace mqttd::core {

// The block that holds the message is freed without running ~message.
static_assert(std::is_trivially_destructible_v<message>);
static_assert(alignof(message) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

message::message(std::string_view topic, protocol::bytes_view payload, protocol::qos qos_level, bool retain) noexcept
    : size_{2 + topic.size() + payload.size()}, topic_size_{topic.size()}, qos_{qos_level}, retain_{retain} {
    auto* out = reinterpret_cast<std::uint8_t*>(this + 1);
    out[0] = static_cast<std::uint8_t>(topic.size() >> 8);
    out[1] = static_cast<std::uint8_t>(topic.size() & 0xff);
    if (!topic.empty()) std::memcpy(out + 2, topic.data(), topic.size());
    if (!payload.empty()) std::memcpy(out + 2 + topic.size(), payload.data(), payload.size());
}

message_ptr make_message(std::string_view topic, protocol::bytes_view payload, protocol::qos qos_level, bool retain) {
    auto block = std::make_shared_for_overwrite<std::byte[]>(sizeof(message) + 2 + topic.size() + payload.size());
    const auto* m = ::new (static_cast<void*>(block.get())) message(topic, payload, qos_level, retain);
    return message_ptr{std::move(block), m};  // shares the block's count, points at the message
}

}  // namespace mqttd::core
