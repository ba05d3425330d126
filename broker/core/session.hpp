#pragma once
// The sans-I/O session core: one MQTT session's state (subscriptions, QoS flows in both directions,
// offline queue) and the rules of MQTT 3.1.1 for the connection attached to it. Packets, routed messages
// and clock ticks go in; effects come out, appended to a caller-owned vector.
// Owned by exactly one worker at a time; not thread-safe. Never performs I/O and never reads the clock.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/core/access_rules.hpp"
#include "broker/core/effects.hpp"
#include "broker/core/inflight_window.hpp"
#include "broker/core/lazy_deque.hpp"
#include "broker/core/message.hpp"
#include "broker/core/packet_id_set.hpp"
#include "protocol/packet.hpp"

namespace mqttd::core {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

// What a full queue gives up for a new message: the new one (Mosquitto's behaviour) or the oldest queued one.
enum class queue_overflow : std::uint8_t { drop_new, drop_oldest };

struct session_limits {
    std::size_t max_inflight = 20;
    std::size_t max_queued_messages = 1000;
    std::size_t max_queued_bytes = 64 * 1024 * 1024;  // topic + payload bytes in the queue; 0: no limit
    queue_overflow overflow = queue_overflow::drop_new;
    // Persistent sessions describe their changes as persist effects (storage/store.hpp) for the shard to store.
    bool is_stored = false;

    bool operator==(const session_limits&) const = default;
};

// What a CONNECT says about the connection, copied out of the receive buffer.
struct connection_params {
    std::string client_id;
    bool clean_session = true;
    std::uint16_t keep_alive = 0;
    message_ptr will;  // null when the client set no will
    std::optional<std::string> username;
    protocol::protocol_version version = protocol::protocol_version::v3_1_1;
};

class session {
public:
    session(std::string client_id, session_limits limits);

    // A connection whose CONNECT was accepted takes this session: emits CONNACK, then resends the
    // unacknowledged PUBLISH (DUP set) and PUBREL packets in their original order [MQTT-4.4.0-1], then
    // sends what queued while offline.
    void attach(connection_params params, bool session_present, time_point now, effects& out);

    // A packet from the attached client (anything after CONNECT). `rules` (null: everything allowed) decide
    // which SUBSCRIBE filters are granted; publishing and receiving are checked by the shard.
    void on_packet(const protocol::packet& p, time_point now, effects& out, const access_rules* rules = nullptr);

    // A message routed to this session at the QoS its subscription grants. `retained` marks the delivery
    // of a retained message on subscribe [MQTT-3.3.1-8]; routed messages go out with retain 0 [MQTT-3.3.1-9].
    // `share`: the group it came through (shared_subscription.hpp), kept with it until it is delivered.
    void on_deliver(const message_ptr& msg, protocol::qos granted, bool retained, effects& out, share_ref share = {});

    // The session is ending for good: the messages it took through a group and has not finished, in order,
    // for the group's other members. Finished means acknowledged, or at QoS 2 PUBREC received: from then on
    // the client has the message, and sending it elsewhere would deliver it twice.
    struct unfinished_share {
        message_ptr msg;
        share_ref share;
    };
    std::vector<unfinished_share> unfinished_shared() const;

    // Checks the keepalive deadline [MQTT-3.1.2-24].
    void on_tick(time_point now, effects& out);

    // The connection's unsent bytes passed max_outbound_bytes (true) or fell back (false). While blocked,
    // QoS 0 messages are dropped and QoS 1/2 messages wait in the queue; unblocking sends what waited.
    // The client's packets were not read meanwhile, so on unblocking its keepalive starts afresh.
    void set_write_blocked(bool is_blocked, time_point now, effects& out);

    // The connection ended: publishes the will unless the client sent DISCONNECT [MQTT-3.1.2-8, -10].
    void detach(close_reason why, effects& out);

    // A persistent session read back from storage at start-up, offline: its subscriptions, its queue (entries in
    // flight resume with their packet ids and state [MQTT-4.4.0-1]) and its inbound QoS 2 packet ids.
    // The queue limits apply as to messages arriving now: the store may hold entries the session dropped
    // just before a crash (their deletes are not waited for), or the limits may be smaller than they were;
    // what does not fit is dropped by queue_overflow, counted, and deleted (effects in out).
    struct restored_entry {
        message_ptr msg;  // null for an entry whose PUBREL was sent
        storage::queue_entry entry;
    };
    void restore(const std::vector<storage::subscription_record>& subscriptions, std::vector<restored_entry> queue,
                 const std::vector<protocol::packet_id>& inbound_ids, effects& out);

    // True when this session's state is stored: a clean session 0 [MQTT-3.1.2-4] with storage on.
    bool is_stored() const noexcept { return limits_.is_stored && !params_.clean_session; }
    // The storage change that records this session and its subscriptions.
    storage::put_session stored_record() const;

    // The will is not published when a persistent session is resumed by a takeover: the device is still
    // there (Mosquitto's behaviour, and MQTT 5's rule).
    void clear_will() noexcept { params_.will.reset(); }

    bool is_online() const noexcept { return is_online_; }
    bool is_clean() const noexcept { return params_.clean_session; }
    const std::string& client_id() const noexcept { return params_.client_id; }
    const connection_params& params() const noexcept { return params_; }
    // Who the ACL sees: the username of the last connection (the certificate CN with use_identity_as_username).
    client_identity identity() const noexcept {
        return {params_.username ? std::optional<std::string_view>{*params_.username} : std::nullopt, params_.client_id};
    }
    // time_point::max() when keepalive is 0 or no client is attached.
    time_point keepalive_deadline() const noexcept { return deadline_; }
    const std::map<std::string, protocol::qos, std::less<>>& subscriptions() const noexcept {
        return subscriptions_;
    }
    std::size_t queued_count() const noexcept { return queue_.size(); }
    std::size_t queued_bytes() const noexcept { return queued_bytes_; }
    std::size_t inflight_count() const noexcept { return inflight_.size(); }
    std::uint64_t dropped_count() const noexcept;
    bool is_write_blocked() const noexcept { return is_write_blocked_; }

private:
    struct queued_message {
        message_ptr msg;
        protocol::qos qos_level;
        bool retain;
        share_ref share;
    };

    void on_publish(const protocol::publish& p, effects& out);
    void on_subscribe(const protocol::subscribe& p, const access_rules* rules, effects& out);
    void on_unsubscribe(const protocol::unsubscribe& p, effects& out);
    void on_puback(protocol::packet_id id, effects& out);
    void on_pubrec(protocol::packet_id id, effects& out);
    void on_pubcomp(protocol::packet_id id, effects& out);
    void send_new(const message_ptr& msg, protocol::qos qos_level, bool retain, effects& out, share_ref share = {});
    void enqueue(const message_ptr& msg, protocol::qos qos_level, bool retain, effects& out, share_ref share = {});
    void drop(const message_ptr& msg, protocol::qos qos_level, drop_reason why, effects& out);
    // session_storage.cpp: storage changes, emitted only for a stored session.
    void store(storage::operation op, bool wait, effects& out);
    void store_entry(std::uint64_t stored_id, protocol::qos qos_level, bool retain, storage::delivery_state state,
                     protocol::packet_id id, bool wait, effects& out);
    void forget_entry(std::uint64_t stored_id, effects& out);
    void drain_queue(effects& out);
    void protocol_violation(const char* what, effects& out);

    session_limits limits_;
    connection_params params_;
    bool is_online_ = false;
    bool is_write_blocked_ = false;
    time_point deadline_ = time_point::max();

    std::map<std::string, protocol::qos, std::less<>> subscriptions_;
    inflight_window inflight_;
    lazy_deque<queued_message> queue_;
    std::size_t queued_bytes_ = 0;
    // [MQTT-4.3.3-2] QoS 2 packet ids received and PUBREC'd but not yet released: a re-sent PUBLISH with
    // one of these ids is acknowledged again but not routed again.
    packet_id_set awaiting_pubrel_;
    // Drops by reason; allocated by the first drop (most sessions never drop anything).
    std::unique_ptr<std::array<std::uint64_t, drop_reason_count>> dropped_;
};

// CONNECT checks that decide the CONNACK code before a session is looked up [MQTT-3.1.3-8], [MQTT-3.2.2-4]:
// nullopt means accepted so far (authentication comes separately).
std::optional<protocol::connack_code> check_client_id(const protocol::connect& c) noexcept;

}  // namespace mqttd::core
