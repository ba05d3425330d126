#pragma once
// The admin API under /api/v1 and /metrics: routes a request (method, decoded target, body) to the handler of
// its endpoint and renders the answer as JSON. Knows nothing of sockets or Beast; authentication is the
// server's. Runs on the HTTP thread: the broker calls it makes post to the workers and wait (net/server.hpp).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "broker/http/request_target.hpp"
#include "broker/net/server.hpp"

namespace mqttd::http {

struct reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::string allow;  // for a 405: the methods the path takes
};

// What a reload did, for POST /api/v1/reload.
struct reload_result {
    bool ok = true;
    std::string message;
};

// The broker-side hooks the API needs beyond net::server: the metrics text and the reload, both wired in main.
struct api_hooks {
    std::function<std::string()> metrics_source;
    std::function<reload_result()> reload_action;
};

// Which endpoint a method and path name; status 404 (no such path) or 405 (path known, method not) otherwise.
enum class endpoint {
    none,
    metrics,
    list_clients,
    get_client,
    kick_client,
    list_subscriptions,
    list_retained,
    delete_retained,
    broker_stats,
    reload,
};
struct route {
    endpoint which = endpoint::none;
    unsigned status = 200;
    std::string allow;  // with 405
};
route match_route(std::string_view method, const std::vector<std::string>& segments);

// JSON helpers shared by the api_*.cpp files.
reply json_reply(unsigned status, const nlohmann::json& body);
reply error_reply(unsigned status, std::string_view message);
// 503 when a worker did not answer within net::server::admin_timeout.
reply busy_reply();

class admin_api {
public:
    admin_api(net::server& broker, api_hooks hooks) : broker_{broker}, hooks_{std::move(hooks)} {}

    // Everything the route leaves open is checked here: bad parameters are 400 with a JSON error.
    reply handle(std::string_view method, const request_target& target);

private:
    net::server& broker_;
    api_hooks hooks_;
};

// One handler per endpoint, by area (api_clients.cpp, api_subscriptions.cpp, api_retained.cpp, api_broker.cpp).
reply list_clients(const net::server& broker, const request_target& target);
reply get_client(const net::server& broker, const std::string& client_id);
reply kick_client(net::server& broker, const std::string& client_id, const request_target& target);
reply list_subscriptions(const net::server& broker, const request_target& target);
reply list_retained(const net::server& broker, const request_target& target);
reply delete_retained(net::server& broker, const request_target& target);
reply broker_stats(const net::server& broker);

// Rendering, exposed for the unit tests.
nlohmann::json client_json(const net::client_info& c, bool with_subscriptions);
nlohmann::json retained_json(const core::message& m);
nlohmann::json counters_json(const net::counters_snapshot& c);
std::string iso8601_utc(std::chrono::system_clock::time_point t);
// {"total": n, "offset": o, "limit": l, "<key>": [items]} for the slice of `all` the page asks for.
nlohmann::json page_json(const page& p, std::size_t total, const char* key, nlohmann::json items);

}  // namespace mqttd::http
