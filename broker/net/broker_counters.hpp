#pragma once
// What every worker counts, readable from any thread: drops by reason, connection ends by reason, session
// events, traffic, CONNACKs, queue depths, event-loop lag and the PUBLISH latency histogram. Each worker owns
// one block and is its only writer; readers (the periodic summary in the log, the $SYS topics, the metrics)
// sum the blocks. Relaxed atomics: counts, not synchronisation.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "broker/core/effects.hpp"

namespace mqttd::net {

// Upper bounds of the PUBLISH latency histogram (received -> written to a subscriber's socket): 100 us to 10 s,
// 1-2.5-5 per decade, and +Inf after the last.
inline constexpr std::array<std::chrono::nanoseconds, 16> latency_bounds{
    std::chrono::microseconds{100},  std::chrono::microseconds{250},  std::chrono::microseconds{500},
    std::chrono::milliseconds{1},    std::chrono::microseconds{2500}, std::chrono::milliseconds{5},
    std::chrono::milliseconds{10},   std::chrono::milliseconds{25},   std::chrono::milliseconds{50},
    std::chrono::milliseconds{100},  std::chrono::milliseconds{250},  std::chrono::milliseconds{500},
    std::chrono::seconds{1},         std::chrono::milliseconds{2500}, std::chrono::seconds{5},
    std::chrono::seconds{10}};
inline constexpr std::size_t latency_bucket_count = latency_bounds.size() + 1;  // the last is +Inf

// CONNACK return codes 0..5 [MQTT-3.2.2-3].
inline constexpr std::size_t connack_code_count = 6;
inline constexpr std::size_t qos_count = 3;

// One writer: a load and a store, no locked instruction on the hot path.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

struct worker_counters {
    std::array<std::atomic<std::uint64_t>, core::drop_reason_count> dropped{};
    std::array<std::atomic<std::uint64_t>, core::close_reason_count> closes{};
    std::atomic<std::uint64_t> sessions_expired{0};
    std::atomic<std::uint64_t> takeovers{0};
    std::atomic<std::uint64_t> superseded_connects{0};
    std::atomic<std::uint64_t> session_moves{0};
    std::atomic<std::uint64_t> unforeseen_states{0};
    std::atomic<std::uint64_t> publishes_denied{0};
    std::atomic<std::uint64_t> deliveries_denied{0};
    std::atomic<std::uint64_t> subscriptions_denied{0};
    std::atomic<std::uint64_t> shared_undeliverable{0};

    // Traffic, counted by the connections (on the worker's thread).
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::array<std::atomic<std::uint64_t>, qos_count> publishes_received{};  // by the PUBLISH's QoS
    std::array<std::atomic<std::uint64_t>, qos_count> publishes_sent{};      // by the delivery's QoS
    std::array<std::atomic<std::uint64_t>, connack_code_count> connacks{};   // by return code; 0: accepted

    // Gauges, copied out once a second by the worker's housekeeping.
    std::atomic<std::uint64_t> sessions{0};
    std::atomic<std::uint64_t> connected_sessions{0};
    std::atomic<std::uint64_t> queued_messages{0};      // over every session of the worker
    std::atomic<std::uint64_t> max_queued_messages{0};  // the longest queue of one session
    std::atomic<std::uint64_t> inflight_messages{0};
    std::atomic<std::int64_t> loop_lag_ns{0};  // how late the last housekeeping timer fired

    // Latency from PUBLISH received to the copy written, non-cumulative buckets (see latency_bounds).
    std::array<std::atomic<std::uint64_t>, latency_bucket_count> latency_buckets{};
    std::atomic<std::uint64_t> latency_sum_ns{0};

    void record_latency(std::chrono::nanoseconds d) noexcept {
        std::size_t i = 0;
        while (i < latency_bounds.size() && d > latency_bounds[i]) ++i;
        bump(latency_buckets[i]);
        bump(latency_sum_ns, static_cast<std::uint64_t>(d.count() > 0 ? d.count() : 0));
    }
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
    std::uint64_t publishes_denied = 0;
    std::uint64_t deliveries_denied = 0;
    std::uint64_t subscriptions_denied = 0;
    std::uint64_t shared_undeliverable = 0;

    std::uint64_t bytes_received = 0;
    std::uint64_t bytes_sent = 0;
    std::array<std::uint64_t, qos_count> publishes_received{};
    std::array<std::uint64_t, qos_count> publishes_sent{};
    std::array<std::uint64_t, connack_code_count> connacks{};

    std::uint64_t sessions = 0;
    std::uint64_t connected_sessions = 0;
    std::uint64_t queued_messages = 0;
    std::uint64_t max_queued_messages = 0;
    std::uint64_t inflight_messages = 0;

    std::array<std::uint64_t, latency_bucket_count> latency_buckets{};
    std::uint64_t latency_sum_ns = 0;

    void add(const worker_counters& w) noexcept {
        const auto read = [](const auto& a) { return a.load(std::memory_order_relaxed); };
        for (std::size_t i = 0; i < dropped.size(); ++i) dropped[i] += read(w.dropped[i]);
        for (std::size_t i = 0; i < closes.size(); ++i) closes[i] += read(w.closes[i]);
        sessions_expired += read(w.sessions_expired);
        takeovers += read(w.takeovers);
        superseded_connects += read(w.superseded_connects);
        session_moves += read(w.session_moves);
        unforeseen_states += read(w.unforeseen_states);
        publishes_denied += read(w.publishes_denied);
        deliveries_denied += read(w.deliveries_denied);
        subscriptions_denied += read(w.subscriptions_denied);
        shared_undeliverable += read(w.shared_undeliverable);
        bytes_received += read(w.bytes_received);
        bytes_sent += read(w.bytes_sent);
        for (std::size_t i = 0; i < qos_count; ++i) publishes_received[i] += read(w.publishes_received[i]);
        for (std::size_t i = 0; i < qos_count; ++i) publishes_sent[i] += read(w.publishes_sent[i]);
        for (std::size_t i = 0; i < connack_code_count; ++i) connacks[i] += read(w.connacks[i]);
        sessions += read(w.sessions);
        connected_sessions += read(w.connected_sessions);
        queued_messages += read(w.queued_messages);
        max_queued_messages = std::max(max_queued_messages, read(w.max_queued_messages));
        inflight_messages += read(w.inflight_messages);
        for (std::size_t i = 0; i < latency_bucket_count; ++i) latency_buckets[i] += read(w.latency_buckets[i]);
        latency_sum_ns += read(w.latency_sum_ns);
    }
    bool operator==(const counters_snapshot&) const = default;
};

}  // namespace mqttd::net
