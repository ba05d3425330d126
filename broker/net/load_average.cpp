#include "broker/net/load_average.hpp"

#include <cmath>

namespace mqttd::net {

void load_average::sample(std::uint64_t total, double elapsed_seconds) noexcept {
    const auto previous = last_total_;
    last_total_ = total;
    if (!has_sample_ || elapsed_seconds <= 0) {
        has_sample_ = true;
        return;
    }
    // A counter never goes back; if it seems to (a worker's count copied out late), the interval counts 0.
    const auto delta = total >= previous ? static_cast<double>(total - previous) : 0.0;
    const auto rate = delta / elapsed_seconds * 60.0;
    for (std::size_t i = 0; i < averages_.size(); ++i) {
        const auto decay = std::exp(-elapsed_seconds / windows_seconds[i]);
        averages_[i] = rate + decay * (averages_[i] - rate);
    }
}

}  // namespace mqttd::net
