// GET /api/v1/broker: the broker's counts (net::server::counters()) and sizes.

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
    return json{{"dropped", std::move(dropped)},
                {"closed", std::move(closes)},
                {"sessions_expired", c.sessions_expired},
                {"takeovers", c.takeovers},
                {"superseded_connects", c.superseded_connects},
                {"session_moves", c.session_moves},
                {"unforeseen_states", c.unforeseen_states},
                {"refused_connections", c.refused_connections}};
}

reply broker_stats(const net::server& broker) {
    return json_reply(200, json{{"version", version},
                                {"workers", broker.worker_count()},
                                {"subscriptions", broker.subscription_count()},
                                {"retained", broker.retained_count()},
                                {"counters", counters_json(broker.counters())}});
}

}  // namespace mqttd::http
