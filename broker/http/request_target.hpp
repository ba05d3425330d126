#pragma once
// The request target of an HTTP request ("/api/v1/clients/a%2Fb?limit=10"), split into decoded path segments
// and query parameters. Pure functions of the text: no I/O, no Beast, callable from any thread.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mqttd::http {

using query_map = std::map<std::string, std::string, std::less<>>;

struct request_target {
    std::vector<std::string> segments;  // "/api/v1/clients/a%2Fb" -> {"api", "v1", "clients", "a/b"}
    query_map query;                    // a key given twice keeps its last value
};

// RFC 3986 percent-decoding; in a query (application/x-www-form-urlencoded) '+' is a space. nullopt for a
// '%' not followed by two hex digits, or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// nullopt for a target that is not an absolute path, or that has a bad escape.
std::optional<request_target> parse_target(std::string_view target);

// ?limit=&offset= paging for the lists: limit 1..max_limit (default default_limit), offset >= 0.
struct page {
    static constexpr std::size_t default_limit = 100;
    static constexpr std::size_t max_limit = 1000;
    std::size_t offset = 0;
    std::size_t limit = default_limit;
};
// The page, or the reason the parameters are wrong (for a 400).
std::variant<page, std::string> parse_page(const query_map& query);

// "true"/"1" or "false"/"0"; nullopt for anything else. A missing key is `fallback`.
std::optional<bool> parse_flag(const query_map& query, std::string_view key, bool fallback);

}  // namespace mqttd::http
