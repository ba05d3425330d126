#include "broker/net/write_queue.hpp"

#include "protocol/encoder.hpp"

namespace mqttd::net {

namespace asio = boost::asio;

write_queue::batch& write_queue::open_batch(std::size_t adding) {
    if (!state_) state_ = std::make_unique<state>();
    auto& s = *state_;
    if (s.batches.size() == s.first || s.batches.back().wire + adding > batch_bytes) {
        if (s.first == s.batches.size()) {
            s.batches.clear();
            s.first = 0;
        }
        s.batches.emplace_back();
    }
    s.queued_bytes += adding;
    return s.batches.back();
}

void write_queue::push(const core::send_packet& p) {
    const auto size = protocol::encoded_size(p.packet);
    auto& b = open_batch(size);
    const auto at = b.bytes.size();
    b.bytes.resize(at + size);
    protocol::encode(p.packet, std::span{b.bytes}.subspan(at, size));
    b.wire += size;
}

void write_queue::push(const core::send_publish& p) {
    const bool has_id = p.qos_level != protocol::qos::at_most_once;
    const auto topic = p.msg->topic_section();
    const auto payload = p.msg->payload();
    const auto remaining = topic.size() + (has_id ? 2 : 0) + payload.size();
    std::uint8_t head[5];
    // [MQTT-3.3.1] byte 1: type 3, DUP, QoS, RETAIN.
    head[0] = static_cast<std::uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (static_cast<unsigned>(p.qos_level) << 1) |
                                        (p.retain ? 0x01 : 0));
    const auto head_size = 1 + protocol::encode_remaining_length(remaining, head + 1);
    const auto total = head_size + remaining;
    auto& b = open_batch(total);
    b.bytes.insert(b.bytes.end(), head, head + head_size);
    b.bytes.insert(b.bytes.end(), topic.begin(), topic.end());
    if (has_id) {
        b.bytes.push_back(static_cast<std::uint8_t>(p.id >> 8));
        b.bytes.push_back(static_cast<std::uint8_t>(p.id & 0xff));
    }
    if (payload.size() >= large_payload) {
        b.payloads.push_back({b.bytes.size(), p.msg});
    } else {
        b.bytes.insert(b.bytes.end(), payload.begin(), payload.end());
    }
    b.wire += total;
    // [MQTT-3.3.1-9] a routed copy goes out with RETAIN 0: set, it is a retained message sent on subscribe.
    if (!p.retain && p.msg->received_at() != core::message::time_point{}) b.received.push_back(p.msg->received_at());
}

const std::vector<asio::const_buffer>& write_queue::take_batch() {
    auto& s = *state_;
    s.writing = std::move(s.batches[s.first++]);
    s.queued_bytes -= s.writing.wire;
    if (s.first == s.batches.size()) {
        s.batches.clear();
        s.first = 0;
    }
    s.buffers.clear();
    std::size_t from = 0;
    const auto& bytes = s.writing.bytes;
    for (const auto& ref : s.writing.payloads) {
        if (ref.at > from) s.buffers.emplace_back(bytes.data() + from, ref.at - from);
        const auto payload = ref.msg->payload();
        s.buffers.emplace_back(payload.data(), payload.size());
        from = ref.at;
    }
    if (bytes.size() > from) s.buffers.emplace_back(bytes.data() + from, bytes.size() - from);
    return s.buffers;
}

void write_queue::release_written() {
    // Everything is given back: an idle connection keeps no buffer.
    if (!state_) return;
    state_->writing = batch{};
    if (is_empty()) state_.reset();
}

}  // namespace mqttd::net
