#pragma once
// Everything the network layer needs to know from the configuration, as plain values. broker/app fills it
// from the JSON file; tests fill it directly.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/shard.hpp"
#include "storage/commit_queue.hpp"
#include "storage/rocksdb_engine.hpp"

namespace mqttd::net {

enum class listener_type { tcp, tls, ws, wss };

const char* to_string(listener_type t) noexcept;

inline bool uses_tls(listener_type t) noexcept { return t == listener_type::tls || t == listener_type::wss; }
inline bool uses_websocket(listener_type t) noexcept { return t == listener_type::ws || t == listener_type::wss; }

struct tls_options {
    std::string cert_file;
    std::string key_file;
    std::string key_password_file;  // optional: a file holding the key's passphrase
    std::string ca_file;            // optional: CA bundle that client certificates must chain to
    bool require_client_cert = false;
    bool use_identity_as_username = false;  // the client certificate's CN becomes the MQTT username
    std::string min_tls_version = "1.2";    // "1.2" or "1.3"
    std::string ciphers;       // OpenSSL cipher list for TLS 1.2; empty: OpenSSL's default
    std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL's default

    bool operator==(const tls_options&) const = default;
};

struct websocket_options {
    std::string path = "/mqtt";
    std::vector<std::string> allowed_origins;  // empty: any Origin

    bool operator==(const websocket_options&) const = default;
};

struct listener_options {
    listener_type type = listener_type::tcp;
    std::string bind = "127.0.0.1";
    std::uint16_t port = 1883;
    std::size_t max_connections = 0;  // open connections on this listener; 0: only the broker-wide limit
    std::optional<bool> allow_anonymous;  // unset: auth_options::allow_anonymous
    tls_options tls;
    websocket_options websocket;

    bool operator==(const listener_options&) const = default;
};

// The largest legal CONNECT: "MQIsdp" header (14 bytes with the fixed header's 5) and five 65,535-byte strings
// (client id, will topic, will payload, username, password) with their length prefixes. Until a CONNECT is
// accepted, no packet may claim more.
inline constexpr std::size_t max_connect_packet_size = 5 + 12 + 5 * (2 + 65'535);

// How a listener treats the CONNECTs of its connections.
struct connection_policy {
    bool use_identity_as_username = false;  // TLS: the client certificate's CN is the username, no password
    bool allow_anonymous = true;            // clients without a username are accepted
    const std::string* listener_name = nullptr;  // "tcp 127.0.0.1:1883" (the listener outlives its connections)
};

struct auth_options {
    bool allow_anonymous = true;  // the config resolves the default: true only when every listener is loopback
    std::string password_file;    // Mosquitto's format; empty: no password checks
    std::string acl_file;         // Mosquitto's syntax; empty: everyone may do everything
    // A failed login is answered after this delay times the failures from that address in the last minute
    // (at most max_failed_login_delay), so guessing passwords from one address is slow.
    std::chrono::milliseconds failed_login_delay{1000};
    std::chrono::milliseconds max_failed_login_delay{30'000};

    bool operator==(const auth_options&) const = default;
};

// README: "Durable storage".
struct persistence_options {
    bool enabled = true;                 // false: the memory engine, nothing survives a restart
    std::filesystem::path dir = "data";  // the config resolves it beside the config file
    storage::sync_mode sync = storage::sync_mode::batch;
    std::chrono::milliseconds sync_interval{1000};  // periodic mode
    storage::corruption_action on_corruption = storage::corruption_action::stop;

    bool operator==(const persistence_options&) const = default;
};

struct server_options {
    std::vector<listener_options> listeners;
    std::size_t threads = 0;  // 0: one per core
    auth_options auth;
    persistence_options persistence;
    std::size_t max_packet_size = 2 * 1024 * 1024;  // as Mosquitto 2.1
    std::chrono::milliseconds connect_timeout{10'000};
    // Unsent bytes queued for one connection before its QoS 0 messages are dropped, QoS 1/2 wait in the
    // session, and its own packets are no longer read.
    std::size_t max_outbound_bytes = 1024 * 1024;
    // A connection whose write makes no progress for this long is closed.
    std::chrono::milliseconds write_timeout{30'000};
    // Open connections, all listeners together; 0: the file-descriptor limit less a reserve.
    std::size_t max_connections = 0;
    core::shard_options shard;
    // How often the $SYS topics are published (README: "$SYS topics"); zero: never.
    std::chrono::seconds sys_interval{10};
    // How shared subscriptions pick a member: config shared_subscription_strategy and shared_subscription_groups.
    core::share_strategies share_strategies;
};

}  // namespace mqttd::net
