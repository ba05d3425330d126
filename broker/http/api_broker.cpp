// GET /api/v1/broker: the broker's counts and sizes (net::server::stats(), as $SYS and /metrics report them).

#include <nlohmann/json.hpp>

#include "broker/http/api.hpp"
#include "broker/version.hpp"

namespace mqttd::http {

using json = nlohmann::json;

json counters_json(const net::counters_snapshot& c) {
    json dropped = json::object();
    for (std::size_t i = 0; i < c.dropped.size(); ++i)
        dropped[core::to_string(static_cast<core::drop_reason>(i))] = c.dropped[i];
    json closes = json::object();
    for (std::size_t i = 0; i < c.closes.size(); ++i)
        closes[core::to_string(static_cast<core::close_reason>(i))] = c.closes[i];
    const auto by_qos = [](const auto& a) { return json{{"0", a[0]}, {"1", a[1]}, {"2", a[2]}}; };
    json connacks = json::object();
    for (std::size_t i = 0; i < c.connacks.size(); ++i) connacks[std::to_string(i)] = c.connacks[i];
    return json{{"dropped", std::move(dropped)},
                {"closed", std::move(closes)},
                {"connacks_by_code", std::move(connacks)},
                {"publishes_received_by_qos", by_qos(c.publishes_received)},
                {"publishes_sent_by_qos", by_qos(c.publishes_sent)},
                {"bytes_received", c.bytes_received},
                {"bytes_sent", c.bytes_sent},
                {"sessions", c.sessions},
                {"connected_sessions", c.connected_sessions},
                {"queued_messages", c.queued_messages},
                {"max_queued_messages", c.max_queued_messages},
                {"inflight_messages", c.inflight_messages},
                {"sessions_expired", c.sessions_expired},
                {"takeovers", c.takeovers},
                {"superseded_connects", c.superseded_connects},
                {"session_moves", c.session_moves},
                {"unforeseen_states", c.unforeseen_states},
                {"refused_connections", c.refused_connections},
                {"publishes_denied", c.publishes_denied},
                {"deliveries_denied", c.deliveries_denied},
                {"subscriptions_denied", c.subscriptions_denied},
                {"shared_undeliverable", c.shared_undeliverable}};
}

reply broker_stats(const net::server& broker) {
    const auto s = broker.stats();
    json listeners = json::array();
    for (const auto& l : s.listeners)
        listeners.push_back({{"type", net::to_string(l.type)}, {"bind", l.bind}, {"port", l.port}, {"open", l.open},
                             {"accepted", l.accepted}, {"refused", l.refused}});
    json workers = json::array();
    for (const auto& w : s.workers)
        workers.push_back({{"loop_lag_seconds", w.loop_lag_seconds}, {"sessions", w.sessions},
                           {"connected_sessions", w.connected_sessions}});
    return json_reply(200, json{{"version", version},
                                {"uptime_seconds", s.uptime_seconds},
                                {"workers", broker.worker_count()},
                                {"subscriptions", s.subscriptions},
                                {"retained", s.retained_messages},
                                {"retained_bytes", s.retained_bytes},
                                {"max_connected_sessions", s.max_connected_sessions},
                                {"resident_memory_bytes", s.memory.resident_bytes},
                                {"listeners", std::move(listeners)},
                                {"per_worker", std::move(workers)},
                                {"counters", counters_json(s.totals)}});
}

}  // namespace mqttd::http
