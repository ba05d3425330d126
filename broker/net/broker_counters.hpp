#pragma once
// What every worker counts, readable from any thread: drops by reason, connection ends by reason, session
// events. Each worker owns one block and is its only writer; readers (the periodic summary in the log, later
// the metrics) sum the blocks. Relaxed atomics: counts, not synchronisation.

#include <array>
#include <atomic>
#include <cstdint>

#include "broker/core/effects.hpp"

namespace mqttd::net {

struct worker_counters {
    std::array<std::atomic<std::uint64_t>, core::drop_reason_count> dropped{};
    std::array<std::atomic<std::uint64_t>, core::close_reason_count> closes{};
    std::atomic<std::uint64_t> sessions_expired{0};
    std::atomic<std::uint64_t> takeovers{0};
    std::atomic<std::uint64_t> superseded_connects{0};
    std::atomic<std::uint64_t> session_moves{0};
    std::atomic<std::uint64_t> unforeseen_states{0};
};

// A plain copy, summed over workers.
struct counters_snapshot {
    std::array<std::uint64_t, core::drop_reason_count> dropped{};
    std::array<std::uint64_t, core::close_reason_count> closes{};
    std::uint64_t sessions_expired = 0;
    std::uint64_t takeovers = 0;
    std::uint64_t superseded_connects = 0;
    std::uint64_t session_moves = 0;
    std::uint64_t unforeseen_states = 0;
    std::uint64_t refused_connections = 0;  // max_connections, all listeners

    void add(const worker_counters& w) noexcept {
        for (std::size_t i = 0; i < dropped.size(); ++i) dropped[i] += w.dropped[i].load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < closes.size(); ++i) closes[i] += w.closes[i].load(std::memory_order_relaxed);
        sessions_expired += w.sessions_expired.load(std::memory_order_relaxed);
        takeovers += w.takeovers.load(std::memory_order_relaxed);
        superseded_connects += w.superseded_connects.load(std::memory_order_relaxed);
        session_moves += w.session_moves.load(std::memory_order_relaxed);
        unforeseen_states += w.unforeseen_states.load(std::memory_order_relaxed);
    }
    bool operator==(const counters_snapshot&) const = default;
};

}  // namespace mqttd::net
