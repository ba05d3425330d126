// GET and DELETE /api/v1/retained?filter=F: the retained messages whose topics F matches.

#include <nlohmann/json.hpp>

#include "auth/base64.hpp"
#include "broker/http/api.hpp"
#include "protocol/topic.hpp"
#include "protocol/utf8.hpp"

namespace mqttd::http {

using json = nlohmann::json;

json retained_json(const core::message& m) {
    const auto payload = m.payload();
    const std::string_view text{reinterpret_cast<const char*>(payload.data()), payload.size()};
    json out{{"topic", m.topic()}, {"qos", static_cast<int>(m.qos_level())}, {"payload_bytes", payload.size()}};
    // Text when it is UTF-8 (JSON strings must be); base64 otherwise, so any payload can be read back exactly.
    if (!protocol::validate_utf8(text)) {
        out["payload"] = text;
    } else {
        out["payload_base64"] = auth::base64_encode({payload.data(), payload.size()}, auth::base64_padding::with);
    }
    return out;
}

namespace {

// The filter parameter, required for DELETE (deleting everything takes an explicit "#").
std::variant<std::string, reply> filter_of(const request_target& target, bool is_required) {
    const auto it = target.query.find("filter");
    if (it == target.query.end()) {
        if (is_required) return error_reply(400, "filter: missing (\"#\" deletes every retained message)");
        return std::string{"#"};
    }
    if (protocol::validate_topic_filter(it->second))
        return error_reply(400, "filter: not a valid topic filter: \"" + it->second + "\"");
    return it->second;
}

}  // namespace

reply list_retained(const net::server& broker, const request_target& target) {
    const auto paging = parse_page(target.query);
    if (const auto* why = std::get_if<std::string>(&paging)) return error_reply(400, *why);
    const auto& p = std::get<page>(paging);
    auto filter = filter_of(target, false);
    if (auto* bad = std::get_if<reply>(&filter)) return std::move(*bad);
    const auto found = broker.retained(std::get<std::string>(filter));
    auto items = json::array();
    for (std::size_t i = p.offset; i < found.size() && items.size() < p.limit; ++i) items.push_back(retained_json(*found[i]));
    return json_reply(200, page_json(p, found.size(), "retained", std::move(items)));
}

reply delete_retained(net::server& broker, const request_target& target) {
    auto filter = filter_of(target, true);
    if (auto* bad = std::get_if<reply>(&filter)) return std::move(*bad);
    const auto removed = broker.delete_retained(std::get<std::string>(filter));
    if (!removed) return busy_reply();
    return json_reply(200, json{{"deleted", *removed}});
}

}  // namespace mqttd::http
