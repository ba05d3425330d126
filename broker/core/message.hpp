#pragma once
// An application message as the broker routes it: immutable once made, shared by every subscriber's write
// queue and the retained store, across worker threads. One buffer holds the PUBLISH topic section
// (length + topic) and the payload, so a fan-out to N subscribers encodes the topic once and copies the
// payload never.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/packet.hpp"

namespace mqttd::core {

class message {
public:
    std::string_view topic() const noexcept { return {reinterpret_cast<const char*>(bytes() + 2), topic_size_}; }
    protocol::bytes_view payload() const noexcept {
        return protocol::bytes_view{bytes() + 2 + topic_size_, size_ - 2 - topic_size_};
    }
    // [MQTT-3.3.2] the topic name as it goes on the wire: two length bytes, then the topic.
    protocol::bytes_view topic_section() const noexcept { return protocol::bytes_view{bytes(), 2 + topic_size_}; }
    protocol::qos qos_level() const noexcept { return qos_; }
    bool is_retained() const noexcept { return retain_; }

    // The id of the message's stored body (storage/store.hpp), 0 while it is not stored. Set once, by the
    // shard that stores it, before the message is routed to any other thread; read-only afterwards.
    std::uint64_t storage_id() const noexcept { return storage_id_; }
    void set_storage_id(std::uint64_t id) const noexcept { storage_id_ = id; }

    // When the broker took the PUBLISH in (the shard's input time), for the latency histogram; the epoch for
    // a message read back from storage. Set once, like storage_id, before the message is routed.
    using time_point = std::chrono::steady_clock::time_point;
    time_point received_at() const noexcept { return received_at_; }
    void set_received_at(time_point at) const noexcept { received_at_ = at; }

private:
    friend std::shared_ptr<const message> make_message(std::string_view, protocol::bytes_view, protocol::qos, bool);
    message(std::string_view topic, protocol::bytes_view payload, protocol::qos qos_level, bool retain) noexcept;
    // The bytes follow the object in the same allocation (make_message).
    const std::uint8_t* bytes() const noexcept { return reinterpret_cast<const std::uint8_t*>(this + 1); }

    std::size_t size_;
    std::size_t topic_size_;
    protocol::qos qos_;
    bool retain_;
    mutable std::uint64_t storage_id_ = 0;
    mutable time_point received_at_{};
};

using message_ptr = std::shared_ptr<const message>;

// One allocation per message: the reference count, the message and its bytes in one block.
message_ptr make_message(std::string_view topic, protocol::bytes_view payload, protocol::qos qos_level, bool retain);

}  // namespace mqttd::core
