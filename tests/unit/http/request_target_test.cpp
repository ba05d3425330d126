#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "broker/http/request_target.hpp"

#include <doctest/doctest.h>

using namespace mqttd::http;

TEST_CASE("request_target: path segments are split and percent-decoded one by one") {
    const auto t = parse_target("/api/v1/clients/a%2Fb%20c");
    REQUIRE(t);
    CHECK(t->segments == std::vector<std::string>{"api", "v1", "clients", "a/b c"});
    CHECK(t->query.empty());
}

TEST_CASE("request_target: empty segments and a trailing slash carry no meaning") {
    const auto t = parse_target("//api//v1/clients/");
    REQUIRE(t);
    CHECK(t->segments == std::vector<std::string>{"api", "v1", "clients"});
    CHECK(parse_target("/")->segments.empty());
}

TEST_CASE("request_target: the query is form-decoded, '+' is a space, the last of a repeated key wins") {
    const auto t = parse_target("/api/v1/retained?filter=a%2F%2B%2F%23&x=1+2&limit=5&limit=7&flag&=");
    REQUIRE(t);
    CHECK(t->query.at("filter") == "a/+/#");
    CHECK(t->query.at("x") == "1 2");
    CHECK(t->query.at("limit") == "7");
    CHECK(t->query.at("flag").empty());
}

TEST_CASE("request_target: bad escapes, NUL and relative targets are refused") {
    CHECK_FALSE(parse_target("api/v1"));
    CHECK_FALSE(parse_target(""));
    CHECK_FALSE(parse_target("http://host/api"));
    CHECK_FALSE(parse_target("/a%2"));
    CHECK_FALSE(parse_target("/a%zz"));
    CHECK_FALSE(parse_target("/a%00b"));
    CHECK_FALSE(parse_target("/a?k=%G1"));
    CHECK_FALSE(percent_decode("%", false));
    CHECK(percent_decode("%41+", false) == "A+");
}

TEST_CASE("request_target: paging takes limit 1..1000 and offset >= 0, and says what is wrong") {
    CHECK(std::get<page>(parse_page({})).limit == page::default_limit);
    CHECK(std::get<page>(parse_page({})).offset == 0);
    const auto p = std::get<page>(parse_page({{"limit", "10"}, {"offset", "20"}}));
    CHECK(p.limit == 10);
    CHECK(p.offset == 20);
    CHECK(std::get<std::string>(parse_page({{"limit", "0"}})) == "limit: expected an integer 1..1000, got \"0\"");
    CHECK(std::holds_alternative<std::string>(parse_page({{"limit", "1001"}})));
    CHECK(std::holds_alternative<std::string>(parse_page({{"limit", "-1"}})));
    CHECK(std::holds_alternative<std::string>(parse_page({{"offset", "x"}})));
    CHECK(std::holds_alternative<std::string>(parse_page({{"offset", "1x"}})));
    CHECK(std::holds_alternative<std::string>(parse_page({{"offset", ""}})));
}

TEST_CASE("request_target: flags are true/1 or false/0, anything else is refused") {
    CHECK(parse_flag({}, "d", false) == false);
    CHECK(parse_flag({{"d", "true"}}, "d", false) == true);
    CHECK(parse_flag({{"d", "1"}}, "d", false) == true);
    CHECK(parse_flag({{"d", "0"}}, "d", true) == false);
    CHECK_FALSE(parse_flag({{"d", "yes"}}, "d", false).has_value());
}
