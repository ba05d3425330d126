#include "broker/net/write_queue.hpp"

#include "protocol/encoder.hpp"

namespace mqttd::net {

namespace asio = boost::asio;

std::size_t write_queue::frame::size() const noexcept {
    std::size_t n = head_size + (has_packet_id ? 2 : 0) + body.size();
    if (msg) n += msg->topic_section().size() + msg->payload().size();
    return n;
}

void write_queue::push(const core::send_packet& p) {
    frame f;
    const auto size = protocol::encoded_size(p.packet);
    if (size <= f.head.size()) {
        protocol::encode(p.packet, std::span{f.head.data(), size});
        f.head_size = static_cast<std::uint8_t>(size);
    } else {
        f.body.resize(size);
        protocol::encode(p.packet, f.body);
    }
    queued_bytes_ += size;
    frames_.push_back(std::move(f));
}

void write_queue::push(const core::send_publish& p) {
    frame f;
    const bool has_id = p.qos_level != protocol::qos::at_most_once;
    const auto remaining = p.msg->topic_section().size() + (has_id ? 2 : 0) + p.msg->payload().size();
    // [MQTT-3.3.1] byte 1: type 3, DUP, QoS, RETAIN.
    f.head[0] = static_cast<std::uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (static_cast<unsigned>(p.qos_level) << 1) |
                                          (p.retain ? 0x01 : 0));
    f.head_size = static_cast<std::uint8_t>(1 + protocol::encode_remaining_length(remaining, f.head.data() + 1));
    if (has_id) {
        f.packet_id = {static_cast<std::uint8_t>(p.id >> 8), static_cast<std::uint8_t>(p.id & 0xff)};
        f.has_packet_id = true;
    }
    f.msg = p.msg;
    queued_bytes_ += f.size();
    frames_.push_back(std::move(f));
}

const std::vector<asio::const_buffer>& write_queue::take_batch(std::size_t max_bytes) {
    std::size_t taken = 0;
    while (!frames_.empty() && (writing_.empty() || taken + frames_.front().size() <= max_bytes)) {
        taken += frames_.front().size();
        writing_.push_back(std::move(frames_.front()));
        frames_.pop_front();
    }
    buffers_.clear();
    for (const auto& f : writing_) {
        buffers_.emplace_back(f.head.data(), f.head_size);
        if (!f.body.empty()) buffers_.emplace_back(f.body.data(), f.body.size());
        if (!f.msg) continue;
        const auto topic = f.msg->topic_section();
        buffers_.emplace_back(topic.data(), topic.size());
        if (f.has_packet_id) buffers_.emplace_back(f.packet_id.data(), f.packet_id.size());
        const auto payload = f.msg->payload();
        if (!payload.empty()) buffers_.emplace_back(payload.data(), payload.size());
    }
    return buffers_;
}

void write_queue::release_written() {
    for (const auto& f : writing_) queued_bytes_ -= f.size();
    writing_.clear();
}

}  // namespace mqttd::net
