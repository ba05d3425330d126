// net::sys_topics: the $SYS tree under Mosquitto's names, from a statistics snapshot.

#include "broker/net/sys_topics.hpp"

#include <cmath>
#include <cstdio>
#include <map>

#include <doctest/doctest.h>

#include "broker/version.hpp"

using namespace mqttd::net;

namespace {

std::map<std::string, std::string> as_map(const std::vector<sys_message>& messages) {
    std::map<std::string, std::string> out;
    for (const auto& m : messages) {
        CHECK_MESSAGE(out.count(m.topic) == 0, "published twice: ", m.topic);
        out[m.topic] = m.payload;
    }
    return out;
}

broker_stats sample_stats() {
    broker_stats s;
    s.uptime_seconds = 42.9;
    s.totals.sessions = 5;
    s.totals.connected_sessions = 3;
    s.totals.sessions_expired = 1;
    s.totals.publishes_received = {10, 20, 30};
    s.totals.publishes_sent = {1, 2, 3};
    s.totals.dropped = {4, 0, 1, 2};
    s.totals.bytes_received = 1234;
    s.totals.bytes_sent = 5678;
    s.totals.queued_messages = 7;
    s.totals.inflight_messages = 2;
    s.totals.connacks = {9, 0, 0, 0, 1, 0};
    s.listeners.push_back({listener_type::tcp, "127.0.0.1", 1883, 3, 11, 0});
    s.subscriptions = 8;
    s.retained_messages = 6;
    s.max_connected_sessions = 4;
    return s;
}

}  // namespace

TEST_CASE("sys_topics: Mosquitto's names with the snapshot's values") {
    const sys_loads loads;
    auto t = as_map(sys_topics(sample_stats(), loads));
    CHECK(t["$SYS/broker/version"] == "mqttd version " + std::string{mqttd::version});
    CHECK(t["$SYS/broker/uptime"] == "42 seconds");
    CHECK(t["$SYS/broker/clients/total"] == "5");
    CHECK(t["$SYS/broker/clients/connected"] == "3");
    CHECK(t["$SYS/broker/clients/active"] == "3");
    CHECK(t["$SYS/broker/clients/disconnected"] == "2");
    CHECK(t["$SYS/broker/clients/inactive"] == "2");
    CHECK(t["$SYS/broker/clients/maximum"] == "4");
    CHECK(t["$SYS/broker/clients/expired"] == "1");
    CHECK(t["$SYS/broker/messages/received"] == "60");
    CHECK(t["$SYS/broker/messages/sent"] == "6");
    CHECK(t["$SYS/broker/messages/stored"] == "15");  // 6 retained + 7 queued + 2 in flight
    CHECK(t["$SYS/broker/publish/messages/received"] == "60");
    CHECK(t["$SYS/broker/publish/messages/sent"] == "6");
    CHECK(t["$SYS/broker/publish/messages/dropped"] == "7");
    CHECK(t["$SYS/broker/bytes/received"] == "1234");
    CHECK(t["$SYS/broker/bytes/sent"] == "5678");
    CHECK(t["$SYS/broker/subscriptions/count"] == "8");
    CHECK(t["$SYS/broker/retained messages/count"] == "6");
}

TEST_CASE("sys_topics: every load series in 1, 5 and 15 minutes, with two decimals") {
    sys_loads loads;
    auto s = sample_stats();
    loads.update(s, 0);
    s.totals.publishes_received[0] += 600;  // 600 PUBLISHes in 60 s: 600 per minute
    s.totals.bytes_sent += 6000;
    s.listeners[0].accepted += 60;
    s.totals.connacks[0] += 30;
    loads.update(s, 60);
    auto t = as_map(sys_topics(s, loads));
    for (const auto* name : {"messages/received", "messages/sent", "publish/dropped", "publish/received",
                             "publish/sent", "bytes/received", "bytes/sent", "sockets", "connections"})
        for (const auto* window : {"1min", "5min", "15min"})
            CHECK_MESSAGE(t.count("$SYS/broker/load/" + std::string{name} + "/" + window) == 1, name, " ", window);
    const auto one_minute = 1 - std::exp(-1.0);
    char expected[32];
    std::snprintf(expected, sizeof expected, "%.2f", 600 * one_minute);
    CHECK(t["$SYS/broker/load/messages/received/1min"] == expected);
    CHECK(t["$SYS/broker/load/publish/received/1min"] == expected);
    std::snprintf(expected, sizeof expected, "%.2f", 6000 * one_minute);
    CHECK(t["$SYS/broker/load/bytes/sent/1min"] == expected);
    std::snprintf(expected, sizeof expected, "%.2f", 60 * one_minute);
    CHECK(t["$SYS/broker/load/sockets/1min"] == expected);
    std::snprintf(expected, sizeof expected, "%.2f", 30 * one_minute);
    CHECK(t["$SYS/broker/load/connections/1min"] == expected);
    CHECK(t["$SYS/broker/load/messages/sent/1min"] == "0.00");
}

TEST_CASE("sys_topics: every topic is under $SYS/broker/") {
    const sys_loads loads;
    for (const auto& m : sys_topics(sample_stats(), loads)) CHECK(m.topic.rfind("$SYS/broker/", 0) == 0);
}
