// GET /api/v1/clients, GET /api/v1/clients/{id}, POST /api/v1/clients/{id}/kick.

#include <nlohmann/json.hpp>

#include "broker/http/api.hpp"

namespace mqttd::http {

using json = nlohmann::json;

json client_json(const net::client_info& c, bool with_subscriptions) {
    const auto& s = c.session;
    json out{
        {"client_id", s.client_id},
        {"username", s.username ? json(*s.username) : json(nullptr)},
        {"connected", c.connection.has_value()},
        {"clean_session", s.clean_session},
        {"keepalive", s.keep_alive},
        {"subscription_count", s.subscriptions.size()},
        {"inflight", s.inflight},
        {"queued", s.queued},
        {"queued_bytes", s.queued_bytes},
    };
    if (c.connection) {
        out["address"] = c.connection->address;
        out["listener"] = c.connection->listener;
        out["connected_since"] = iso8601_utc(c.connection->connected_since);
    } else {
        out["address"] = nullptr;
        out["listener"] = nullptr;
        out["connected_since"] = nullptr;
    }
    if (with_subscriptions) {
        auto subscriptions = json::array();
        for (const auto& [filter, qos] : s.subscriptions)
            subscriptions.push_back({{"filter", filter}, {"qos", static_cast<int>(qos)}});
        out["subscriptions"] = std::move(subscriptions);
    }
    return out;
}

reply list_clients(const net::server& broker, const request_target& target) {
    const auto paging = parse_page(target.query);
    if (const auto* why = std::get_if<std::string>(&paging)) return error_reply(400, *why);
    const auto& p = std::get<page>(paging);
    const auto connected = target.query.find("connected");
    std::optional<bool> only_connected;
    if (connected != target.query.end()) {
        only_connected = parse_flag(target.query, "connected", false);
        if (!only_connected) return error_reply(400, "connected: expected true or false, got \"" + connected->second + "\"");
    }
    const auto all = broker.clients();
    if (!all) return busy_reply();
    auto items = json::array();
    std::size_t total = 0;
    for (const auto& c : *all) {
        if (only_connected && c.connection.has_value() != *only_connected) continue;
        if (total >= p.offset && items.size() < p.limit) items.push_back(client_json(c, false));
        ++total;
    }
    return json_reply(200, page_json(p, total, "clients", std::move(items)));
}

reply get_client(const net::server& broker, const std::string& client_id) {
    const auto found = broker.client(client_id);
    if (!found) return busy_reply();
    if (!*found) return error_reply(404, "no client \"" + client_id + "\"");
    return json_reply(200, client_json(**found, true));
}

reply kick_client(net::server& broker, const std::string& client_id, const request_target& target) {
    const auto discard = parse_flag(target.query, "discard_session", false);
    if (!discard) return error_reply(400, "discard_session: expected true or false");
    const auto result = broker.kick(client_id, *discard);
    if (!result) return busy_reply();
    switch (*result) {
    case core::kick_result::not_found: return error_reply(404, "no client \"" + client_id + "\"");
    case core::kick_result::busy: return error_reply(409, "the session is moving between workers; try again");
    case core::kick_result::kicked:
    case core::kick_result::kicked_and_discarded:
    case core::kick_result::discarded:
    case core::kick_result::not_connected: break;
    }
    return json_reply(200, json{{"client_id", client_id},
                                {"was_connected", *result == core::kick_result::kicked ||
                                                      *result == core::kick_result::kicked_and_discarded},
                                {"session_discarded", *result == core::kick_result::discarded ||
                                                          *result == core::kick_result::kicked_and_discarded}});
}

}  // namespace mqttd::http
