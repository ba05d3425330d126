#pragma once
// The configuration of the HTTP listeners (type "http" in the config's listeners) and of the admin API they
// serve (the config's "admin" section). README: "HTTP listener, metrics and the admin API".

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mqttd::http {

struct http_listener_options {
    std::string bind = "127.0.0.1";
    std::uint16_t port = 8081;
    std::size_t max_connections = 16;  // open HTTP connections on this listener; more are closed at accept
    bool operator==(const http_listener_options&) const = default;
};

struct admin_options {
    // Mosquitto's format (mqttd-passwd). Empty: /api/v1 answers 403 to everyone; the API is never open.
    std::string password_file;
    bool metrics_auth = false;  // /metrics asks for the same credentials as the API
    std::chrono::milliseconds failed_login_delay{1000};
    std::chrono::milliseconds max_failed_login_delay{30000};
    std::chrono::milliseconds idle_timeout{30000};  // a connection with no complete request for this long is closed
    std::size_t max_request_bytes = 64 * 1024;     // header and body together
    bool operator==(const admin_options&) const = default;
};

struct http_options {
    std::vector<http_listener_options> listeners;
    admin_options admin;
    bool operator==(const http_options&) const = default;
};

}  // namespace mqttd::http
