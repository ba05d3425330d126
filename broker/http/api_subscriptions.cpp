// GET /api/v1/subscriptions?filter=F: every session's subscriptions whose filter F covers.

#include <nlohmann/json.hpp>

#include "broker/http/api.hpp"
#include "protocol/topic.hpp"

namespace mqttd::http {

using json = nlohmann::json;

reply list_subscriptions(const net::server& broker, const request_target& target) {
    const auto paging = parse_page(target.query);
    if (const auto* why = std::get_if<std::string>(&paging)) return error_reply(400, *why);
    const auto& p = std::get<page>(paging);
    // A subscription is listed when the query's filter matches its filter read as a topic ('+' and '#' as
    // plain levels): "sensors/#" lists "sensors/+/temp" and "sensors/a"; without a filter, everything.
    std::string filter = "#";
    if (const auto it = target.query.find("filter"); it != target.query.end()) filter = it->second;
    if (protocol::validate_topic_filter(filter))
        return error_reply(400, "filter: not a valid topic filter: \"" + filter + "\"");
    const bool is_everything = !target.query.contains("filter");
    const auto all = broker.clients();
    if (!all) return busy_reply();
    auto items = json::array();
    std::size_t total = 0;
    for (const auto& c : *all) {
        for (const auto& [subscribed, qos] : c.session.subscriptions) {
            if (!is_everything && subscribed != filter && !protocol::topic_matches(filter, subscribed)) continue;
            if (total >= p.offset && items.size() < p.limit)
                items.push_back({{"client_id", c.session.client_id}, {"filter", subscribed}, {"qos", static_cast<int>(qos)}});
            ++total;
        }
    }
    return json_reply(200, page_json(p, total, "subscriptions", std::move(items)));
}

}  // namespace mqttd::http
