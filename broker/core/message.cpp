#include "broker/core/message.hpp"

#include <algorithm>

namespace mqttd::core {

message::message(std::string_view topic, protocol::bytes_view payload, protocol::qos qos_level, bool retain)
    : topic_size_{topic.size()}, qos_{qos_level}, retain_{retain} {
    bytes_.reserve(2 + topic.size() + payload.size());
    bytes_.push_back(static_cast<std::uint8_t>(topic.size() >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(topic.size() & 0xff));
    bytes_.insert(bytes_.end(), topic.begin(), topic.end());
    bytes_.insert(bytes_.end(), payload.begin(), payload.end());
}

}  // namespace mqttd::core
