#include "broker/http/api.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

namespace mqttd::http {

using json = nlohmann::json;

namespace {

// A path with the methods it takes: GET lists and reads, POST acts, DELETE removes.
struct path_rule {
    std::vector<std::string_view> pattern;  // "*" is one segment (a client id)
    std::vector<std::pair<std::string_view, endpoint>> methods;
};

const std::vector<path_rule>& rules() {
    static const std::vector<path_rule> table{
        {{"metrics"}, {{"GET", endpoint::metrics}}},
        {{"api", "v1", "clients"}, {{"GET", endpoint::list_clients}}},
        {{"api", "v1", "clients", "*"}, {{"GET", endpoint::get_client}}},
        {{"api", "v1", "clients", "*", "kick"}, {{"POST", endpoint::kick_client}}},
        {{"api", "v1", "subscriptions"}, {{"GET", endpoint::list_subscriptions}}},
        {{"api", "v1", "retained"}, {{"GET", endpoint::list_retained}, {"DELETE", endpoint::delete_retained}}},
        {{"api", "v1", "broker"}, {{"GET", endpoint::broker_stats}}},
        {{"api", "v1", "reload"}, {{"POST", endpoint::reload}}},
    };
    return table;
}

bool matches(const path_rule& rule, const std::vector<std::string>& segments) {
    if (rule.pattern.size() != segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i)
        if (rule.pattern[i] != "*" && rule.pattern[i] != segments[i]) return false;
    return true;
}

}  // namespace

route match_route(std::string_view method, const std::vector<std::string>& segments) {
    for (const auto& rule : rules()) {
        if (!matches(rule, segments)) continue;
        route r{endpoint::none, 405, ""};
        for (const auto& [name, which] : rule.methods) {
            // HEAD is not served: the lists are computed, and a HEAD would compute them for nothing.
            if (name == method) return {which, 200, ""};
            r.allow += (r.allow.empty() ? "" : ", ") + std::string{name};
        }
        return r;
    }
    return {endpoint::none, 404, ""};
}

reply json_reply(unsigned status, const json& body) {
    // Client ids, topics and usernames were checked as UTF-8 by the decoder; replace, never throw, regardless.
    return {status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", ""};
}

reply error_reply(unsigned status, std::string_view message) {
    return json_reply(status, json{{"error", message}});
}

reply busy_reply() { return error_reply(503, "the broker did not answer in time"); }

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
    const auto seconds = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

json page_json(const page& p, std::size_t total, const char* key, json items) {
    return json{{"total", total}, {"offset", p.offset}, {"limit", p.limit}, {key, std::move(items)}};
}

reply admin_api::handle(std::string_view method, const request_target& target) {
    const auto r = match_route(method, target.segments);
    if (r.status == 404) return error_reply(404, "no such path");
    if (r.status == 405) {
        auto answer = error_reply(405, "method not allowed (allowed: " + r.allow + ")");
        answer.allow = r.allow;
        return answer;
    }
    switch (r.which) {
    case endpoint::metrics:
        return {200, "text/plain; version=0.0.4; charset=utf-8", hooks_.metrics_source ? hooks_.metrics_source() : "", ""};
    case endpoint::list_clients: return list_clients(broker_, target);
    case endpoint::get_client: return get_client(broker_, target.segments[3]);
    case endpoint::kick_client: return kick_client(broker_, target.segments[3], target);
    case endpoint::list_subscriptions: return list_subscriptions(broker_, target);
    case endpoint::list_retained: return list_retained(broker_, target);
    case endpoint::delete_retained: return delete_retained(broker_, target);
    case endpoint::broker_stats: return broker_stats(broker_);
    case endpoint::reload: {
        if (!hooks_.reload_action) return error_reply(500, "reload is not wired");
        const auto result = hooks_.reload_action();
        return json_reply(result.ok ? 200 : 500, json{{"ok", result.ok}, {"message", result.message}});
    }
    case endpoint::none: break;
    }
    return error_reply(404, "no such path");
}

}  // namespace mqttd::http
