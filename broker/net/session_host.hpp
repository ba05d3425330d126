#pragma once
// What a worker needs from a live network connection, whatever its transport. Implemented by
// connection<Transport>; called only on the connection's own worker thread.

#include <memory>

#include "broker/core/effects.hpp"
#include "broker/core/session.hpp"
#include "broker/core/session_ref.hpp"

namespace mqttd::net {

struct session_entry;

class session_host {
public:
    virtual ~session_host() = default;

    virtual void send(const core::send_packet& p) = 0;
    virtual void send(const core::send_publish& p) = 0;
    // Ends the connection; detaches the session (will included) before returning.
    virtual void close(core::close_reason why) = 0;
    // The worker has found or made the session for this connection's CONNECT.
    virtual void attach(session_entry& entry, bool session_present) = 0;
    // The session lookup must start again (the session it found was discarded meanwhile).
    virtual bool is_open() const noexcept = 0;
    virtual const core::connection_params& connect_params() const noexcept = 0;
};

// A session and, while a client is connected to it, its connection. Owned by one worker's session table.
struct session_entry {
    session_entry(core::session_ref s, core::session_limits limits)
        : slot{std::move(s)}, session{slot->client_id, limits} {}

    core::session_ref slot;
    core::session session;
    std::shared_ptr<session_host> host;
};

}  // namespace mqttd::net
