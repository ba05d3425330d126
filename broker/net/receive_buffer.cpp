#include "broker/net/receive_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace mqttd::net {

std::span<std::uint8_t> receive_buffer::prepare(std::size_t packet_size) {
    if (begin_ == end_) {
        begin_ = end_ = 0;
        if (capacity_ == 0 || capacity_ > idle_limit) reallocate(initial_size);
    }
    const auto pending = end_ - begin_;
    // Move what is pending to the front when the rest of the packet would not fit behind it, or when there
    // is no room left at all.
    if (begin_ != 0 && (end_ == capacity_ || packet_size > capacity_ - begin_)) {
        std::memmove(bytes_.get(), bytes_.get() + begin_, pending);
        begin_ = 0;
        end_ = pending;
    }
    if (end_ == capacity_) {
        // Full of one unfinished packet: double, but never past what that packet needs.
        const auto wanted = std::max(packet_size, end_ + 1);
        reallocate(std::min(capacity_ * 2, wanted));
    }
    return {bytes_.get() + end_, capacity_ - end_};
}

void receive_buffer::reallocate(std::size_t capacity) {
    // make_unique_for_overwrite: no zero-fill; the bytes are written by the read before they are read.
    auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
    const auto pending = end_ - begin_;
    if (pending != 0) std::memcpy(bigger.get(), bytes_.get() + begin_, pending);
    bytes_ = std::move(bigger);
    capacity_ = capacity;
    begin_ = 0;
    end_ = pending;
}

}  // namespace mqttd::net
