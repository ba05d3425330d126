#pragma once
// Per (subscriber, publisher) stream bookkeeping of the load generator: which sequence numbers arrived, so that
// lost, duplicated and reordered messages can be counted without storing every number. Plain value, no I/O.
//
// A stream remembers the next number it expects and, in a 64-bit mask, which of the 64 numbers below it have
// arrived. A number above the expected one skips a gap (filled later by reordered arrivals, or lost); a number
// below it is reordered the first time and a duplicate after that. A number more than 64 below the highest
// seen cannot be told apart and counts as a duplicate (a broker that late is broken either way).

#include <cstdint>

namespace mqttd::bench {

struct sequence_counts {
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
};

class sequence_tracker {
public:
    // Returns true when seq is new (counts as delivered), false for a duplicate.
    bool see(std::uint64_t seq, sequence_counts& counts) noexcept {
        if (seq >= next_) {
            const auto shift = seq - next_ + 1;
            seen_ = shift >= 64 ? 0 : seen_ << shift;
            seen_ |= 1;
            next_ = seq + 1;
            ++unique_;
            return true;
        }
        const auto back = next_ - 1 - seq;
        if (back >= 64 || (seen_ >> back & 1U) != 0) {
            ++counts.duplicates;
            return false;
        }
        seen_ |= std::uint64_t{1} << back;
        ++counts.reordered;
        ++unique_;
        return true;
    }

    // Distinct numbers seen.
    std::uint64_t unique() const noexcept { return unique_; }

private:
    std::uint64_t next_ = 0;
    std::uint64_t seen_ = 0;  // bit k: next_ - 1 - k arrived
    std::uint64_t unique_ = 0;
};

}  // namespace mqttd::bench
