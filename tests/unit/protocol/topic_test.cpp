// Section 4.7: topic names, topic filters, and matching.
#include "protocol/topic.hpp"

#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"
#include "protocol/errc.hpp"

namespace protocol = mqttd::protocol;
using protocol::errc;

TEST_CASE("topic: valid topic names, including empty levels and '$' (section 4.7.1.1)") {
    for (const std::string_view name :
         {"a", "/", "//", "a/b", "/a", "a/", "a//b", "$SYS/x", "sport tennis", " "}) {
        CAPTURE(name);
        CHECK_FALSE(protocol::validate_topic_name(name));
    }
}

TEST_CASE("topic: empty topic name [MQTT-4.7.3-1]") {
    CHECK(protocol::validate_topic_name("") == errc::empty_topic);
}

TEST_CASE("topic: wildcards in topic names [MQTT-3.3.2-2]") {
    for (const std::string_view name : {"+", "#", "a/+", "a/#", "a+b", "a#", "+/a"}) {
        CAPTURE(name);
        CHECK(protocol::validate_topic_name(name) == errc::wildcard_in_topic_name);
    }
}

TEST_CASE("topic: valid filters [MQTT-4.7.1-2] [MQTT-4.7.1-3]") {
    for (const std::string_view f : {"#", "+", "a", "a/#", "+/+", "/+", "+/", "/", "a/+/b", "sport/tennis/#",
                                     "+/#", "$SYS/#", "//", "a//#", "+/+/+"}) {
        CAPTURE(f);
        CHECK_FALSE(protocol::validate_topic_filter(f));
    }
}

TEST_CASE("topic: empty filter [MQTT-4.7.3-1]") {
    CHECK(protocol::validate_topic_filter("") == errc::empty_topic);
}

TEST_CASE("topic: '#' must be alone in the last level [MQTT-4.7.1-2]") {
    for (const std::string_view f :
         {"sport/tennis#", "sport/tennis/#/ranking", "#/", "#/a", "a#", "##", "a/#b"}) {
        CAPTURE(f);
        CHECK(protocol::validate_topic_filter(f) == errc::multi_level_wildcard_not_last);
    }
}

TEST_CASE("topic: '+' must fill its level [MQTT-4.7.1-3]") {
    for (const std::string_view f : {"sport+", "a/+b", "++", "+a/b", "a/b+/c"}) {
        CAPTURE(f);
        CHECK(protocol::validate_topic_filter(f) == errc::single_level_wildcard_not_alone);
    }
}

namespace {

struct match_row {
    std::string_view filter;
    std::string_view topic;
    bool matches;
};

// Examples from [MQTT-4.7.1-2], [MQTT-4.7.1-3] and [MQTT-4.7.2-1] first, then edge cases.
const std::vector<match_row> match_table{
    // exact
    {"a", "a", true},
    {"a", "b", false},
    {"a/b", "a/b", true},
    {"a/b", "a/b/c", false},
    {"a/b/c", "a/b", false},
    {"A", "a", false},  // case sensitive (section 4.7.3)
    {"a b", "a b", true},
    // '#'
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},  // '#' includes the parent level
    {"sport/#", "sport/", true},
    {"sport/#", "sports", false},
    {"#", "sport", true},
    {"#", "/", true},
    {"#", "a/b/c", true},
    {"a/#", "b/a", false},
    // '+'
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player2", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},  // an empty level is a level
    {"+", "a", true},
    {"+", "a/b", false},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"+/+/+", "a/b/c", true},
    {"+/b/+", "a/x/c", false},
    {"+/#", "a", true},
    {"+/#", "a/b/c", true},
    // empty levels
    {"a//b", "a//b", true},
    {"a/+/b", "a//b", true},
    {"a/b", "a//b", false},
    {"/a", "/a", true},
    {"/a", "a", false},
    {"a/", "a", false},
    {"a/+", "a", false},
    {"/", "/", true},
    {"+/+", "/", true},
    {"+", "/", false},
    {"//#", "//", true},
    // '$' topics [MQTT-4.7.2-1]
    {"#", "$SYS/broker/clients", false},
    {"#", "$SYS", false},
    {"+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"+/x", "$SYS/x", false},
    {"+", "$SYS", false},
    {"+/#", "$SYS/x", false},
    {"$SYS/#", "$SYS/monitor/Clients", true},
    {"$SYS/#", "$SYS/a", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"$SYS/+", "$SYS/a/b", false},
    {"$SYS", "$SYS", true},
    {"a/$x", "a/$x", true},
    {"a/+", "a/$x", true},  // only the first level is protected
    {"a/#", "a/$x/y", true},
};

}  // namespace

TEST_CASE("topic: matching table of filters and topic names [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1]") {
    REQUIRE(match_table.size() >= 40);
    for (const auto& row : match_table) {
        CAPTURE(row.filter);
        CAPTURE(row.topic);
        // The table itself must only hold valid filters and names.
        REQUIRE_FALSE(protocol::validate_topic_filter(row.filter));
        REQUIRE_FALSE(protocol::validate_topic_name(row.topic));
        CHECK(protocol::topic_matches(row.filter, row.topic) == row.matches);
    }
}
