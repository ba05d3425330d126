#pragma once
// Everything the network layer needs to know from the configuration, as plain values. broker/app fills it
// from the JSON file; tests fill it directly.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/core/session.hpp"

namespace mqttd::net {

enum class listener_type { tcp };

struct listener_options {
    listener_type type = listener_type::tcp;
    std::string bind = "127.0.0.1";
    std::uint16_t port = 1883;
};

struct server_options {
    std::vector<listener_options> listeners;
    std::size_t threads = 0;  // 0: one per core
    bool allow_anonymous = true;
    std::size_t max_packet_size = 268'435'460;
    std::chrono::milliseconds connect_timeout{10'000};
    core::session_limits session;
};

}  // namespace mqttd::net
