#pragma once
// One connection's received, not yet decoded bytes. It grows only as bytes arrive (doubling, without
// zero-filling), never to a size a packet merely claims: a fixed header announcing 256 MB costs nothing until
// 256 MB are sent, and then only up to the size limit the decoder enforces from that header.
// Owned by one connection; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace mqttd::net {

class receive_buffer {
public:
    static constexpr std::size_t initial_size = 4096;
    static constexpr std::size_t idle_limit = 64 * 1024;  // a buffer grown for a big packet shrinks back past this

    // The bytes received and not yet consumed.
    std::span<const std::uint8_t> data() const noexcept { return {bytes_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t n) noexcept { begin_ += n; }

    // Room to read into, at least one byte. `packet_size`, when known (0 otherwise), is the whole size of the
    // packet at the front: the buffer makes room for it by moving the data to the front, and grows only when
    // it is full, to twice its size at most.
    std::span<std::uint8_t> prepare(std::size_t packet_size);
    void commit(std::size_t n) noexcept { end_ += n; }

    std::size_t capacity() const noexcept { return capacity_; }
    // Frees the memory when nothing is pending (an idle connection holds none); prepare() allocates again.
    void release_if_empty() noexcept {
        if (begin_ != end_) return;
        bytes_.reset();
        capacity_ = begin_ = end_ = 0;
    }

private:
    void reallocate(std::size_t capacity);

    std::unique_ptr<std::uint8_t[]> bytes_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace mqttd::net
