#pragma once
// Which listeners a reload keeps, starts and stops (README: "Reload"). A listener is known by its type, bind
// address and *configured* port: two listeners with the same key are the same listener, whatever else changed,
// so its socket and its clients stay. A listener configured on port 0 matches a port-0 listener of the same type
// and address in the new file, and keeps the port the kernel gave it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "broker/net/server_options.hpp"

namespace mqttd::net {

struct listener_key {
    listener_type type = listener_type::tcp;
    std::string bind;
    std::uint16_t port = 0;

    bool operator==(const listener_key&) const = default;
};

inline listener_key key_of(const listener_options& l) { return {l.type, l.bind, l.port}; }

// "tcp://127.0.0.1:1883", "wss://[::1]:8884", for logs (one word, as log values are).
inline std::string describe(const listener_key& k) {
    const bool is_v6 = k.bind.find(':') != std::string::npos;
    return std::string{to_string(k.type)} + "://" + (is_v6 ? "[" + k.bind + "]" : k.bind) + ":" + std::to_string(k.port);
}

struct listener_plan {
    std::vector<std::pair<std::size_t, std::size_t>> keep;  // (index in running, index in next)
    std::vector<std::size_t> start;                         // indices in next
    std::vector<std::size_t> stop;                          // indices in running
};

// Pairs each next listener with the first unpaired running one of the same key, in order; the unpaired running
// ones stop and the unpaired next ones start. Duplicate keys pair up one to one.
template <class Running, class Next, class KeyOf>
listener_plan plan_listeners(const std::vector<Running>& running, const std::vector<Next>& next, KeyOf key_of) {
    listener_plan plan;
    std::vector<bool> is_paired(running.size(), false);
    for (std::size_t n = 0; n < next.size(); ++n) {
        const auto wanted = key_of(next[n]);
        bool found = false;
        for (std::size_t r = 0; r < running.size() && !found; ++r) {
            if (is_paired[r] || !(key_of(running[r]) == wanted)) continue;
            is_paired[r] = true;
            plan.keep.emplace_back(r, n);
            found = true;
        }
        if (!found) plan.start.push_back(n);
    }
    for (std::size_t r = 0; r < running.size(); ++r)
        if (!is_paired[r]) plan.stop.push_back(r);
    return plan;
}

// A kept listener whose new options cannot be applied to its open socket: it is stopped (its clients
// disconnected) and started again on the same address. The WebSocket path and origins (each connection holds
// them for its handshake) and use_identity_as_username (fixed for a connection's life) are such options; every
// other change (TLS files and settings, max_connections, allow_anonymous) applies in place, to new connections.
inline bool needs_restart(const listener_options& running, const listener_options& next) {
    return running.websocket != next.websocket ||
           running.tls.use_identity_as_username != next.tls.use_identity_as_username;
}

}  // namespace mqttd::net
