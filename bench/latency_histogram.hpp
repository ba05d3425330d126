#pragma once
// Log-linear histogram of latencies in microseconds for the load generator: exact below 1024 µs, then 64
// buckets per power of two (at most 1.6 % off). Fixed size, so recording never allocates. Plain value.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace mqttd::bench {

class latency_histogram {
public:
    void record(std::uint64_t us) noexcept {
        us = std::min<std::uint64_t>(us, 0xffffffffU);
        ++buckets_[bucket_of(us)];
        ++count_;
        max_ = std::max(max_, us);
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }

    // The latency below which a fraction q (0..1) of the samples fall: the middle of its bucket.
    double percentile(double q) const noexcept {
        if (count_ == 0) return 0;
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank) return std::min(middle_of(i), static_cast<double>(max_));
        }
        return static_cast<double>(max_);
    }

    void clear() noexcept {
        buckets_.fill(0);
        count_ = 0;
        max_ = 0;
    }

private:
    static constexpr std::size_t linear = 1024;  // 2^10
    static constexpr unsigned sub_bits = 6;

    static std::size_t bucket_of(std::uint64_t us) noexcept {
        if (us < linear) return static_cast<std::size_t>(us);
        const auto exponent = static_cast<unsigned>(std::bit_width(us)) - 1;  // >= 10
        const auto sub = (us >> (exponent - sub_bits)) & ((1U << sub_bits) - 1);
        return linear + (exponent - 10) * (1U << sub_bits) + static_cast<std::size_t>(sub);
    }

    static double middle_of(std::size_t bucket) noexcept {
        if (bucket < linear) return static_cast<double>(bucket);
        const auto exponent = static_cast<unsigned>((bucket - linear) >> sub_bits) + 10;
        const auto sub = (bucket - linear) & ((1U << sub_bits) - 1);
        const auto width = std::uint64_t{1} << (exponent - sub_bits);
        const auto low = (std::uint64_t{1} << exponent) + sub * width;
        return static_cast<double>(low) + static_cast<double>(width) / 2;
    }

    std::array<std::uint64_t, linear + 22 * (1U << sub_bits)> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace mqttd::bench
