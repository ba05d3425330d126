#pragma once
// The load generator's command line (mqttd_bench.cpp has the whole usage), and what every scenario shares.
// Plain values and functions, no I/O but usage() (own_cpu_seconds() asks the kernel for this process's CPU time).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <string>

#include <sys/resource.h>

namespace mqttd::bench {

// Every payload starts with the publisher's number (u32), its sequence number (u64) and the send time (u64).
inline constexpr std::size_t header_size = 4 + 8 + 8;

// Every connection's keepalive, in seconds: long enough that no run needs PINGREQ.
inline constexpr std::uint16_t keep_alive = 600;

inline std::chrono::nanoseconds as_duration(double seconds) {
    return std::chrono::nanoseconds{static_cast<long long>(seconds * 1e9)};
}

// This process's CPU time (user + system), in seconds.
inline double own_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Text for a JSON string value: quotes, backslashes and control characters become spaces.
inline std::string json_safe(std::string s) {
    std::replace_if(s.begin(), s.end(), [](char ch) { return ch == '"' || ch == '\\' || (ch >= 0 && ch < ' '); }, ' ');
    return s;
}

enum class scenario { fanin, fanout, pairs, latency, conns, subs, retained, shared };

struct options {
    scenario kind = scenario::fanin;
    std::string name = "fanin";
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    unsigned qos = 1;
    std::size_t payload = 64;
    unsigned window = 64;
    unsigned publishers = 0;   // 0: the scenario's default
    unsigned subscribers = 0;
    double seconds = 5;
    double warmup = 1;
    double rate = 5000;
    unsigned connections = 1000;
    unsigned entries = 100000;
    unsigned outstanding = 1000;
    unsigned concurrency = 64;
    unsigned fill_connections = 4;   // subs, retained: connections that fill the tree
    std::string transport = "tcp";  // conns only: tcp, tls or ws
    std::string path = "/mqtt";      // ws: the upgrade's path
};

inline int usage() {
    std::cerr << "usage: mqttd-bench fanin|fanout|pairs|latency|conns|subs|retained|shared --port PORT [--host H]\n"
                 "       [--qos 0|1|2] [--payload BYTES>=20] [--window N] [--publishers N] [--subscribers N]\n"
                 "       [--seconds S] [--warmup S] [--rate MSG_PER_S] [--connections N] [--entries N]\n"
                 "       [--outstanding N] [--concurrency N] [--fill-connections 4]\n"
                 "       [--transport tcp|tls|ws (conns)] [--path /mqtt]\n";
    return 2;
}

inline bool parse(int argc, char* argv[], options& o) {
    if (argc < 2) return false;
    const std::string names[] = {"fanin", "fanout", "pairs", "latency", "conns", "subs", "retained", "shared"};
    const auto* found = std::find(std::begin(names), std::end(names), std::string{argv[1]});
    if (found == std::end(names)) return false;
    o.kind = static_cast<scenario>(found - std::begin(names));
    o.name = *found;
    auto count = [](const std::string& v) { return static_cast<unsigned>(std::stoul(v)); };
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--port") o.port = static_cast<std::uint16_t>(std::stoul(value));
        else if (key == "--host") o.host = value;
        else if (key == "--qos") o.qos = count(value);
        else if (key == "--payload") o.payload = std::stoul(value);
        else if (key == "--window") o.window = count(value);
        else if (key == "--publishers") o.publishers = count(value);
        else if (key == "--subscribers") o.subscribers = count(value);
        else if (key == "--seconds") o.seconds = std::stod(value);
        else if (key == "--warmup") o.warmup = std::stod(value);
        else if (key == "--rate") o.rate = std::stod(value);
        else if (key == "--connections") o.connections = count(value);
        else if (key == "--entries") o.entries = count(value);
        else if (key == "--outstanding") o.outstanding = count(value);
        else if (key == "--concurrency") o.concurrency = count(value);
        else if (key == "--fill-connections") o.fill_connections = count(value);
        else if (key == "--transport") o.transport = value;
        else if (key == "--path") o.path = value;
        else return false;
    }
    return argc % 2 == 0 && o.port != 0 && o.qos <= 2 && o.payload >= header_size && o.window >= 1 &&
           o.window <= 30000 && o.outstanding >= 1 && o.concurrency >= 1 && o.fill_connections >= 1 &&
           o.rate > 0 && o.seconds > 0 && o.warmup >= 0 &&
           (o.transport == "tcp" || o.transport == "tls" || o.transport == "ws") &&
           (o.transport == "tcp" || o.kind == scenario::conns);
}

}  // namespace mqttd::bench
