#pragma once
// The broker's statistics in the Prometheus text exposition format 0.0.4, for GET /metrics. A pure function of
// a broker_stats snapshot: no I/O, callable from any thread. Names follow Prometheus' conventions: counters end
// in _total, units are seconds and bytes, and every family has # HELP and # TYPE lines (README: "Prometheus
// metrics" lists them).

#include <string>
#include <string_view>

#include "broker/net/broker_stats.hpp"

namespace mqttd::net {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const broker_stats& stats);

}  // namespace mqttd::net
