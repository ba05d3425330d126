#pragma once
// The $SYS tree, under Mosquitto's names so that existing dashboards keep working (README: "$SYS topics"):
// a pure function from a statistics snapshot (and the load averages kept between snapshots) to the topics
// and payloads to publish. No I/O, no clock; owned by whoever calls it.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "broker/net/broker_stats.hpp"
#include "broker/net/load_average.hpp"

namespace mqttd::net {

struct sys_message {
    std::string topic;
    std::string payload;
};

// The $SYS/broker/load/... series: each is the per-minute rate of one total in broker_stats.
class sys_loads {
public:
    // Mosquitto's names, in the order the topics list them.
    static constexpr std::array<std::string_view, 9> names{
        "messages/received", "messages/sent", "publish/dropped", "publish/received", "publish/sent",
        "bytes/received",    "bytes/sent",    "sockets",         "connections"};

    // A snapshot taken `elapsed_seconds` after the previous one (any value for the first).
    void update(const broker_stats& s, double elapsed_seconds) noexcept;
    const load_average& operator[](std::size_t i) const noexcept { return loads_[i]; }

private:
    std::array<load_average, names.size()> loads_{};
};

// Every $SYS topic with its payload, in a fixed order.
std::vector<sys_message> sys_topics(const broker_stats& s, const sys_loads& loads);

}  // namespace mqttd::net
