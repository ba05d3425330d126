// net::render_prometheus: the text exposition format 0.0.4, checked line by line and by promtool itself.

#include "broker/net/prometheus_text.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "broker/version.hpp"

using namespace mqttd::net;

namespace {

broker_stats sample_stats() {
    broker_stats s;
    s.uptime_seconds = 12.5;
    s.totals.connacks = {7, 1, 0, 0, 2, 3};
    s.totals.refused_connections = 4;
    s.totals.publishes_received = {10, 20, 30};
    s.totals.publishes_sent = {1, 2, 3};
    s.totals.dropped = {5, 6, 7, 8};
    s.totals.publishes_denied = 9;
    s.totals.bytes_received = 1000;
    s.totals.bytes_sent = 2000;
    s.totals.sessions = 5;
    s.totals.connected_sessions = 3;
    s.totals.queued_messages = 11;
    s.totals.max_queued_messages = 6;
    s.totals.latency_buckets[0] = 2;  // <= 100 us
    s.totals.latency_buckets[3] = 1;  // <= 1 ms
    s.totals.latency_buckets.back() = 1;  // > 10 s
    s.totals.latency_sum_ns = 12'000'700'000;
    s.listeners.push_back({listener_type::tcp, "127.0.0.1", 1883, 3, 10, 4});
    s.listeners.push_back({listener_type::wss, "::1", 8884, 0, 2, 0});
    s.workers.push_back({0.002, 3, 2});
    s.workers.push_back({0.0, 2, 1});
    s.subscriptions = 4;
    s.retained_messages = 2;
    s.retained_bytes = 300;
    s.memory = {4096 * 100, 4096 * 1000};
    return s;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text))
        if (l == line) return true;
    return false;
}

}  // namespace

TEST_CASE("prometheus: the content type names version 0.0.4") {
    CHECK(prometheus_content_type == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("prometheus: the samples carry the snapshot's values") {
    const auto text = render_prometheus(sample_stats());
    CHECK(has_line(text, R"(mqttd_build_info{version=")" + std::string{mqttd::version} + R"("} 1)"));
    CHECK(has_line(text, "mqttd_uptime_seconds 12.5"));
    CHECK(has_line(text, R"(mqttd_listener_connections{transport="tcp",address="127.0.0.1:1883"} 3)"));
    CHECK(has_line(text, R"(mqttd_listener_connections{transport="wss",address="::1:8884"} 0)"));
    CHECK(has_line(text, R"(mqttd_listener_accepted_connections_total{transport="tcp",address="127.0.0.1:1883"} 10)"));
    CHECK(has_line(text, R"(mqttd_connects_total{outcome="accepted"} 7)"));
    CHECK(has_line(text, R"(mqttd_connects_refused_total{reason="unacceptable_protocol_version"} 1)"));
    CHECK(has_line(text, R"(mqttd_connects_refused_total{reason="bad_username_or_password"} 2)"));
    CHECK(has_line(text, R"(mqttd_connects_refused_total{reason="not_authorized"} 3)"));
    CHECK(has_line(text, R"(mqttd_connects_refused_total{reason="max_connections"} 4)"));
    CHECK(has_line(text, R"(mqttd_messages_received_total{qos="2"} 30)"));
    CHECK(has_line(text, R"(mqttd_messages_sent_total{qos="0"} 1)"));
    CHECK(has_line(text, R"(mqttd_messages_dropped_total{reason="queue_full"} 5)"));
    CHECK(has_line(text, R"(mqttd_messages_dropped_total{reason="offline_qos0"} 8)"));
    CHECK(has_line(text, R"(mqttd_messages_dropped_total{reason="publish_denied"} 9)"));
    CHECK(has_line(text, "mqttd_received_bytes_total 1000"));
    CHECK(has_line(text, "mqttd_sent_bytes_total 2000"));
    CHECK(has_line(text, R"(mqttd_sessions{state="connected"} 3)"));
    CHECK(has_line(text, R"(mqttd_sessions{state="offline"} 2)"));
    CHECK(has_line(text, "mqttd_queued_messages 11"));
    CHECK(has_line(text, "mqttd_queued_messages_max 6"));
    CHECK(has_line(text, "mqttd_retained_messages 2"));
    CHECK(has_line(text, "mqttd_retained_bytes 300"));
    CHECK(has_line(text, R"(mqttd_event_loop_lag_seconds{worker="0"} 0.002)"));
    CHECK(has_line(text, R"(mqttd_event_loop_lag_seconds{worker="1"} 0)"));
    CHECK(has_line(text, "process_resident_memory_bytes 409600"));
}

TEST_CASE("prometheus: the latency histogram's buckets are cumulative and end in +Inf = count") {
    const auto text = render_prometheus(sample_stats());
    CHECK(has_line(text, R"(mqttd_publish_latency_seconds_bucket{le="0.0001"} 2)"));
    CHECK(has_line(text, R"(mqttd_publish_latency_seconds_bucket{le="0.00025"} 2)"));
    CHECK(has_line(text, R"(mqttd_publish_latency_seconds_bucket{le="0.001"} 3)"));
    CHECK(has_line(text, R"(mqttd_publish_latency_seconds_bucket{le="10"} 3)"));
    CHECK(has_line(text, R"(mqttd_publish_latency_seconds_bucket{le="+Inf"} 4)"));
    CHECK(has_line(text, "mqttd_publish_latency_seconds_count 4"));
    CHECK(has_line(text, "mqttd_publish_latency_seconds_sum 12.0007"));
}

TEST_CASE("prometheus: every family has HELP and TYPE before its samples, and counters end in _total") {
    const auto text = render_prometheus(sample_stats());
    std::set<std::string> typed;
    std::string help_for;
    for (const auto& line : lines_of(text)) {
        if (line.rfind("# HELP ", 0) == 0) {
            help_for = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            const auto name = line.substr(7, line.find(' ', 7) - 7);
            CHECK(name == help_for);
            CHECK(typed.insert(name).second);  // one family, one block
            if (line.ends_with(" counter")) CHECK(name.ends_with("_total"));
            continue;
        }
        const auto name = line.substr(0, line.find_first_of("{ "));
        const bool belongs = typed.count(name) != 0 || (name.ends_with("_bucket") || name.ends_with("_sum") ||
                                                        name.ends_with("_count"));
        CHECK_MESSAGE(belongs, line);
    }
    CHECK(text.ends_with("\n"));
}

TEST_CASE("prometheus: label values are escaped") {
    auto s = sample_stats();
    s.listeners[0].bind = "a\"b\\c\nd";
    const auto text = render_prometheus(s);
    CHECK(text.find(R"(address="a\"b\\c\nd:1883")") != std::string::npos);
}

TEST_CASE("prometheus: promtool check metrics accepts the output") {
    // CI installs Debian's prometheus package (.ci/deps --test); without promtool this test fails, not skips.
    const auto file = std::filesystem::temp_directory_path() / ("mqttd-metrics-" + std::to_string(::getpid()) + ".txt");
    {
        std::ofstream out{file};
        out << render_prometheus(sample_stats());
    }
    const auto command = "promtool check metrics < " + file.string() + " 2>&1";
    std::string output;
    auto* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const auto status = ::pclose(pipe);
    std::filesystem::remove(file);
    INFO("promtool said: ", output);
    CHECK(status == 0);
    CHECK(output.empty());  // lint problems are printed even when the status is 0
}
