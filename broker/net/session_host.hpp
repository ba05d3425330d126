#pragma once
// What a worker needs from a live network connection, whatever its transport: the receiving end of the
// shard's connection actions. Implemented by connection<Transport>; called only on the connection's own
// worker thread, and never calls back into the shard from these methods.

#include <chrono>
#include <string>

#include "broker/core/shard_message.hpp"

namespace mqttd::net {

// Where a connection comes from, for the admin API.
struct connection_info {
    std::string address;   // "127.0.0.1:53122"
    std::string listener;  // "tcp 127.0.0.1:1883"
    std::chrono::system_clock::time_point connected_since{};
};

class session_host {
public:
    virtual ~session_host() = default;

    virtual void send(const core::send_packet& p) = 0;
    virtual void send(const core::send_publish& p) = 0;
    // The shard attached a session; its CONNACK follows.
    virtual void attached(bool session_present) = 0;
    // The shard cannot serve this CONNECT: answer CONNACK `code` and close.
    virtual void refused(protocol::connack_code code) = 0;
    // The shard ended the connection and has already detached its session: flush and close.
    virtual void closed_by_shard(const core::close_connection& why) = 0;
    // The broker is stopping: close, and tell the shard (no will is published).
    virtual void shut_down() = 0;
    // Which listener accepted it (connection_ticket::listener_place): a reload that removes the listener
    // closes its connections.
    virtual const void* listener_place() const noexcept = 0;
    // One of the deadlines it gave the worker's deadline queue has come: the one it asked for at `at`.
    virtual void on_deadline(core::time_point at, core::time_point now) = 0;
    virtual connection_info info() const = 0;
};

}  // namespace mqttd::net
