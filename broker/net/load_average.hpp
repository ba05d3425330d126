#pragma once
// Mosquitto's $SYS "load" figures: the rate of a counter, per minute, smoothed over 1, 5 and 15 minutes by
// exponentially weighted moving averages, as sys_tree.c computes them (and as Unix load averages are):
//     rate = delta / elapsed * 60;  average = rate + exp(-elapsed / window) * (average - rate)
// Pure arithmetic, no clock: the caller says how much time passed. Owned by one thread.

#include <array>
#include <cstdint>

namespace mqttd::net {

class load_average {
public:
    static constexpr std::array<double, 3> windows_seconds{60, 300, 900};

    // The counter's total now, `elapsed_seconds` after the previous sample. The first sample only sets the
    // starting point (the averages stay 0), like Mosquitto's first publication.
    void sample(std::uint64_t total, double elapsed_seconds) noexcept;

    // Per minute, smoothed over 1, 5 and 15 minutes.
    const std::array<double, 3>& per_minute() const noexcept { return averages_; }

private:
    bool has_sample_ = false;
    std::uint64_t last_total_ = 0;
    std::array<double, 3> averages_{};
};

}  // namespace mqttd::net
