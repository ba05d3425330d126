#include "broker/net/sys_topics.hpp"

#include <cstdio>
#include <numeric>

#include "broker/version.hpp"

namespace mqttd::net {

namespace {

std::uint64_t sum(const auto& counts) { return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}); }

// The totals behind sys_loads::names, in the same order.
std::array<std::uint64_t, sys_loads::names.size()> load_totals(const broker_stats& s) {
    const auto& t = s.totals;
    std::uint64_t sockets = 0;
    for (const auto& l : s.listeners) sockets += l.accepted;
    const auto received = sum(t.publishes_received);
    const auto sent = sum(t.publishes_sent);
    // mqttd counts PUBLISH packets for Mosquitto's "messages" (every packet there) and "publish" alike.
    return {received, sent, sum(t.dropped), received, sent, t.bytes_received, t.bytes_sent, sockets, t.connacks[0]};
}

std::string two_decimals(double value) {
    char buffer[32];
    const auto n = std::snprintf(buffer, sizeof buffer, "%.2f", value);
    return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace

void sys_loads::update(const broker_stats& s, double elapsed_seconds) noexcept {
    const auto totals = load_totals(s);
    for (std::size_t i = 0; i < loads_.size(); ++i) loads_[i].sample(totals[i], elapsed_seconds);
}

std::vector<sys_message> sys_topics(const broker_stats& s, const sys_loads& loads) {
    const auto& t = s.totals;
    const auto offline = t.sessions > t.connected_sessions ? t.sessions - t.connected_sessions : 0;
    // Mosquitto's "stored": every message the broker holds (retained, queued, in flight).
    const auto stored = s.retained_messages + t.queued_messages + t.inflight_messages;
    const auto uptime = static_cast<std::uint64_t>(s.uptime_seconds);
    std::vector<sys_message> out{
        {"$SYS/broker/version", "mqttd version " + std::string{mqttd::version}},
        {"$SYS/broker/uptime", std::to_string(uptime) + " seconds"},
        {"$SYS/broker/clients/total", std::to_string(t.sessions)},
        {"$SYS/broker/clients/connected", std::to_string(t.connected_sessions)},
        {"$SYS/broker/clients/active", std::to_string(t.connected_sessions)},  // Mosquitto's deprecated name
        {"$SYS/broker/clients/disconnected", std::to_string(offline)},
        {"$SYS/broker/clients/inactive", std::to_string(offline)},  // likewise
        {"$SYS/broker/clients/maximum", std::to_string(s.max_connected_sessions)},
        {"$SYS/broker/clients/expired", std::to_string(t.sessions_expired)},
        {"$SYS/broker/messages/received", std::to_string(sum(t.publishes_received))},
        {"$SYS/broker/messages/sent", std::to_string(sum(t.publishes_sent))},
        {"$SYS/broker/messages/stored", std::to_string(stored)},
        {"$SYS/broker/store/messages/count", std::to_string(stored)},
        {"$SYS/broker/publish/messages/received", std::to_string(sum(t.publishes_received))},
        {"$SYS/broker/publish/messages/sent", std::to_string(sum(t.publishes_sent))},
        {"$SYS/broker/publish/messages/dropped", std::to_string(sum(t.dropped))},
        {"$SYS/broker/bytes/received", std::to_string(t.bytes_received)},
        {"$SYS/broker/bytes/sent", std::to_string(t.bytes_sent)},
        {"$SYS/broker/subscriptions/count", std::to_string(s.subscriptions)},
        {"$SYS/broker/retained messages/count", std::to_string(s.retained_messages)},
    };
    static constexpr std::array<std::string_view, 3> window_names{"1min", "5min", "15min"};
    for (std::size_t i = 0; i < sys_loads::names.size(); ++i) {
        const auto& averages = loads[i].per_minute();
        for (std::size_t w = 0; w < window_names.size(); ++w) {
            out.push_back({"$SYS/broker/load/" + std::string{sys_loads::names[i]} + "/" + std::string{window_names[w]},
                           two_decimals(averages[w])});
        }
    }
    return out;
}

}  // namespace mqttd::net
