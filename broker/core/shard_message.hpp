#pragma once
// What shards send each other, and what a shard asks of the connections it serves. Values only: a shard
// never calls another shard or a socket; its caller carries these (net::worker between threads, the test
// scheduler in tests/unit/core/shard_scheduler.hpp without any).
//
// Channels between two shards are FIFO; the migration protocol in shard.hpp relies on that and on nothing
// else about timing.

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "broker/core/effects.hpp"
#include "broker/core/message.hpp"
#include "broker/core/session.hpp"
#include "broker/core/session_ref.hpp"
#include "protocol/packet.hpp"

namespace mqttd::core {

// Identifies a network connection for the whole broker; 0 means none. The caller hands them out in the order
// connections were accepted: when two connections race for one session, the newer one keeps it.
using connection_id = std::uint64_t;

// ---- between shards

// A routed message for a session that lives (or is arriving) on the receiving shard.
struct delivery {
    session_ref slot;
    std::uint32_t epoch;  // the incarnation the matching subscription belongs to
    message_ptr msg;
    protocol::qos granted;
    share_ref share = nullptr;  // the group it was picked by, if any: a member that cannot take it hands it back
    std::uint8_t redispatches = 0;  // times it went back to its group, to stop a loop nobody foresaw
};

// A CONNECT on shard `from` for a client id whose session lives elsewhere: the owner closes the old
// connection and hands the session (or a fresh one) to `from` [MQTT-3.1.4-2].
struct connect_request {
    session_ref slot;
    shard_index from;
    connection_id conn;
    bool clean_session;
    std::uint8_t hops = 0;  // forwards so far, to stop a loop nobody foresaw
};

// Migration barrier: "everything you routed to this slot before you saw it move is now ahead of this
// answer on our channel". Every other shard answers with flush_done.
struct flush_request {
    session_ref slot;
    shard_index origin;
    std::uint64_t move_id;
};
struct flush_done {
    session_ref slot;
    std::uint64_t move_id;
};

// The session itself, moving to the shard of the connection that will use it, with the CONNECTs for it
// that reached the shard it left while it was leaving (served in order after `conn`).
struct session_transfer {
    session_ref slot;
    std::uint32_t epoch;
    std::unique_ptr<session> state;
    connection_id conn;
    bool session_present;
    std::vector<connect_request> waiting;
};

// The owner did not serve a connect_request. `superseded`: a newer connection already holds the session,
// so the waiting one is closed as taken over; otherwise nothing fits and it gets CONNACK 3.
struct connect_refused {
    connection_id conn;
    bool superseded = false;
};

using shard_message =
    std::variant<delivery, connect_request, flush_request, flush_done, session_transfer, connect_refused>;

// ---- to connections

// The connection's session is ready: from now on its packets go to shard::packet(). Comes right before
// the CONNACK.
struct connection_attached {
    bool session_present;
};

// The connection's CONNECT cannot be served: send CONNACK with `code`, then close.
struct connection_refused {
    protocol::connack_code code;
};

// send_packet and send_publish write; close_connection closes after flushing (the session has already
// been detached: the connection must not report this close back to the shard).
using connection_output = std::variant<send_packet, send_publish, close_connection, connection_attached, connection_refused>;

struct connection_action {
    connection_id conn;
    connection_output what;
};

}  // namespace mqttd::core
