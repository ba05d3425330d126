#include "broker/http/request_target.hpp"

#include <charconv>

namespace mqttd::http {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::size_t> parse_size(std::string_view text) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            const auto decoded = static_cast<char>(high * 16 + low);
            if (decoded == '\0') return std::nullopt;
            out += decoded;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<request_target> parse_target(std::string_view target) {
    if (target.empty() || target.front() != '/') return std::nullopt;
    request_target out;
    const auto question = target.find('?');
    auto path = target.substr(0, question);
    // Empty segments ("//", a trailing '/') carry no meaning here: "/api/v1/clients/" is the list.
    while (!path.empty()) {
        path.remove_prefix(1);
        const auto slash = path.find('/');
        const auto raw = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
        if (raw.empty()) continue;
        auto segment = percent_decode(raw, false);
        if (!segment) return std::nullopt;
        out.segments.push_back(std::move(*segment));
    }
    if (question == std::string_view::npos) return out;
    auto query = target.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto equals = pair.find('=');
        auto key = percent_decode(pair.substr(0, equals), true);
        auto value = percent_decode(equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1), true);
        if (!key || !value) return std::nullopt;
        out.query.insert_or_assign(std::move(*key), std::move(*value));
    }
    return out;
}

std::variant<page, std::string> parse_page(const query_map& query) {
    page p;
    if (const auto it = query.find("limit"); it != query.end()) {
        const auto limit = parse_size(it->second);
        if (!limit || *limit < 1 || *limit > page::max_limit)
            return "limit: expected an integer 1.." + std::to_string(page::max_limit) + ", got \"" + it->second + "\"";
        p.limit = *limit;
    }
    if (const auto it = query.find("offset"); it != query.end()) {
        const auto offset = parse_size(it->second);
        if (!offset) return "offset: expected an integer >= 0, got \"" + it->second + "\"";
        p.offset = *offset;
    }
    return p;
}

std::optional<bool> parse_flag(const query_map& query, std::string_view key, bool fallback) {
    const auto it = query.find(key);
    if (it == query.end()) return fallback;
    if (it->second == "true" || it->second == "1") return true;
    if (it->second == "false" || it->second == "0") return false;
    return std::nullopt;
}

}  // namespace mqttd::http
