#pragma once
// A snapshot of everything the broker reports about itself, as plain values: what the $SYS topics and the
// Prometheus metrics are made from. server::stats() fills it from any thread; renderers are pure functions of it.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/net/broker_counters.hpp"
#include "broker/net/server_options.hpp"

namespace mqttd::net {

struct listener_stats {
    listener_type type = listener_type::tcp;
    std::string bind;
    std::uint16_t port = 0;
    std::uint64_t open = 0;      // connections open now
    std::uint64_t accepted = 0;  // since start
    std::uint64_t refused = 0;   // max_connections reached (broker-wide or the listener's)
};

struct worker_stats {
    double loop_lag_seconds = 0;  // how late the worker's last once-a-second timer fired
    std::uint64_t sessions = 0;
    std::uint64_t connected_sessions = 0;
};

struct process_memory {
    std::uint64_t resident_bytes = 0;
    std::uint64_t virtual_bytes = 0;
};

// /proc/self/statm; zeros where it cannot be read.
process_memory read_process_memory() noexcept;

struct broker_stats {
    double uptime_seconds = 0;
    counters_snapshot totals;  // every worker's counts and gauges, summed (and listeners' refusals)
    std::vector<listener_stats> listeners;
    std::vector<worker_stats> workers;  // by worker index
    std::uint64_t subscriptions = 0;
    std::uint64_t retained_messages = 0;
    std::uint64_t retained_bytes = 0;  // topics and payloads
    std::uint64_t max_connected_sessions = 0;  // the most seen connected at once (sampled)
    process_memory memory;
};

}  // namespace mqttd::net
