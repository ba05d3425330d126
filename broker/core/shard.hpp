#pragma once
// One worker's share of the broker's MQTT state, sans I/O: the sessions it owns, the connections attached
// to them, takeover, clean-session discard, the migration of sessions between shards, and everything a
// session asks for that is not I/O (routing, subscriptions, retained messages on subscribe, drop counts).
// Inputs are values (a CONNECT's parameters, packets, ticks, messages from other shards); outputs are
// connection actions and messages to other shards, collected in out() for the caller to carry.
//
// Owned by one thread; not thread-safe. Shared with other shards: the router and the client registry
// (each thread-safe) and session slots (atomic location).
//
// Migration. A session is live on one shard, moving to one, or gone (session_ref.hpp). A CONNECT for an
// id whose session lives on shard O goes to O as a connect_request. O closes the old connection, then:
//   - to resume a persistent session on shard C, marks the slot moving(C) and asks every other shard to
//     flush; each answers flush_done behind whatever it routed to O before it saw the move. When all have
//     answered, O sends the session to C. Until then deliveries reaching O still go into the session.
//   - to start afresh (either side asked for a clean session), renews the session (new epoch: whatever
//     was routed to the old incarnation is dropped on arrival) and sends it at once.
// C parks deliveries and CONNECTs for a slot moving to it and replays them, in order, once the session is
// installed. So a publisher's messages to one session keep their order through a move [MQTT-4.6.0-6]:
// those routed before the move are in the session before it leaves, those routed after wait behind it.
// No step retries or recurses; a state nobody foresaw refuses the CONNECT with CONNACK 3 and is logged.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <unordered_map>
#include <variant>
#include <vector>

#include "broker/core/client_registry.hpp"
#include "broker/core/effects_stack.hpp"
#include "broker/core/router.hpp"
#include "broker/core/session.hpp"
#include "broker/core/shard_message.hpp"

namespace mqttd::core {

// What a shard does with storage (README: "Durable storage").
enum class storage_mode : std::uint8_t {
    off,            // nothing is stored (tests of the shard alone)
    write_behind,   // changes are stored; acknowledgements do not wait (sync periodic or none; memory engine)
    write_through,  // an acknowledgement, and whatever follows it, waits until what it confirms is stored
};

struct shard_options {
    session_limits session;
    // How long an offline persistent session is kept; zero: for ever (MQTT 3.1.1 has no expiry).
    std::chrono::milliseconds session_expiry{0};
    // The ACL; null (or a null snapshot): everything allowed. Outlives the shard.
    access_rules_source* access = nullptr;
    storage_mode storage = storage_mode::off;
    // Ids for stored message bodies, shared by every shard; set past every stored id at start-up.
    std::atomic<std::uint64_t>* message_ids = nullptr;
};

// A batch of storage changes for the commit queue (storage/commit_queue.hpp). `ticket` (0: nobody waits):
// the caller reports completion with shard::stored(ticket, ok), tickets of one shard in the order given.
struct storage_request {
    std::vector<storage::operation> ops;
    std::uint64_t ticket = 0;
};

struct shard_stats {
    std::array<std::uint64_t, drop_reason_count> dropped{};  // messages a session did not take, by reason
    std::uint64_t sessions_expired = 0;
    std::uint64_t publishes_denied = 0;      // PUBLISHes and wills the ACL refused
    std::uint64_t subscriptions_denied = 0;  // SUBSCRIBE filters the ACL refused (SUBACK 0x80)
    std::uint64_t deliveries_denied = 0;     // messages a subscriber may not read
    std::uint64_t storage_failures = 0;      // storage requests that failed (their outputs were not sent)
    std::uint64_t takeovers = 0;         // CONNECTs that took over an existing session [MQTT-3.1.4-2]
    std::uint64_t superseded = 0;        // CONNECTs that lost to a newer connection holding the session
    std::uint64_t moves = 0;             // sessions sent to another shard
    std::uint64_t forwarded = 0;         // deliveries that followed a session to another shard
    std::uint64_t unforeseen = 0;        // states the protocol says cannot happen (logged)
    std::uint64_t shared_redispatched = 0;   // group messages a member could not finish, sent to another
    std::uint64_t shared_undeliverable = 0;  // ... when the group had no member left (logged)
};

// What the admin API shows of one session (shard_admin.cpp): a copy, made on the owner's thread.
struct session_view {
    std::string client_id;
    std::optional<std::string> username;
    connection_id conn = 0;  // 0: offline
    bool clean_session = true;
    std::uint16_t keep_alive = 0;
    std::vector<std::pair<std::string, protocol::qos>> subscriptions;
    std::size_t inflight = 0;
    std::size_t queued = 0;
    std::size_t queued_bytes = 0;
};

// What the admin API's kick found.
// `discarded`: an offline session discarded; `not_connected`: an offline session left as it was.
enum class kick_result : std::uint8_t { kicked, kicked_and_discarded, discarded, not_connected, not_found, busy };

// Sees every message a session takes in (tests check exactly-once and order with it).
class shard_observer {
public:
    virtual ~shard_observer() = default;
    // `retained`: sent because a subscription was made, not routed (the same message may come again so).
    virtual void taken_in(const session_slot& slot, std::uint32_t epoch, const message_ptr& msg, bool retained) = 0;
};

class shard {
public:
    struct output {
        std::vector<connection_action> actions;
        std::vector<std::vector<shard_message>> outbox;  // by destination shard, in order
        std::vector<storage_request> storage;            // in order
    };

    shard(shard_index index, std::size_t shard_count, router& routes, client_registry& registry,
          shard_options options);
    ~shard();
    shard(const shard&) = delete;
    shard& operator=(const shard&) = delete;

    // A connection on this shard sent a CONNECT that passed every check (client id, credentials).
    void connect(connection_id conn, connection_params params, time_point now);
    // A packet after CONNECT, from a connection this shard attached.
    void packet(connection_id conn, const protocol::packet& p, time_point now);
    // The connection's keepalive deadline may have passed [MQTT-3.1.2-24].
    void tick(connection_id conn, time_point now);
    // The network connection ended (or the broker is stopping) without the shard asking for it.
    void connection_lost(connection_id conn, close_reason why, time_point now);
    // The connection's unsent bytes passed max_outbound_bytes (true), or fell back under it (false).
    void write_blocked(connection_id conn, bool is_blocked, time_point now);
    // A message from another shard.
    void receive(shard_message message, time_point now);
    // Discards the offline persistent sessions whose session_expiry has passed. Returns how many.
    std::size_t expire(time_point now);
    // A storage request with this ticket is applied (and, in write-through mode, durable), or failed: what
    // waited for it goes out, or (failed) the connections it would have answered are closed unanswered.
    void stored(std::uint64_t ticket, bool ok, time_point now);
    // At start-up, before any other input: a persistent session read back from storage, offline on this shard.
    // `messages` holds the bodies its queue refers to.
    void restore(const storage::recovered_session& stored, const std::unordered_map<std::uint64_t, message_ptr>& messages,
                 time_point now);

    // shard_admin.cpp: the admin API's views and actions, on this shard's thread like every other input.
    // Every session on this shard (online and offline), and the one with this client id, if it is here.
    std::vector<session_view> sessions() const;
    std::optional<session_view> session_of(std::string_view client_id) const;
    // Closes the client's connection as the broker would on a keepalive timeout (its will is published), and,
    // with `discard_session`, discards its persistent session too. `busy`: the session is moving between shards.
    kick_result kick(std::string_view client_id, bool discard_session, time_point now);
    // Removes the retained messages the filter matches (and their stored copies). Returns how many.
    std::size_t delete_retained(std::string_view filter, time_point now);
    // A message the broker itself publishes ($SYS topics): routed, and retained when it says so, like a
    // client's PUBLISH, but from no session, so neither the $SYS ban nor the ACL applies, and nothing is
    // stored (the broker publishes it again after a restart).
    void publish_system(const message_ptr& msg, time_point now);

    output& out() noexcept { return out_; }
    // A reload's limits: for sessions made from now on (existing sessions keep theirs), and for the expiry of
    // sessions that go offline from now on.
    void set_limits(const session_limits& limits, std::chrono::milliseconds session_expiry);

    time_point keepalive_deadline(connection_id conn) const noexcept;
    std::size_t session_count() const noexcept { return sessions_.size(); }
    std::size_t connected_count() const noexcept { return attached_.size(); }
    struct queue_depths {
        std::size_t queued = 0;      // messages waiting in every session's queue
        std::size_t max_queued = 0;  // in the longest one
        std::size_t inflight = 0;    // sent and not yet acknowledged, every session
    };
    // Walks every session: for a once-a-second gauge, not for the hot path.
    queue_depths depths() const noexcept;
    const session* find_session(const session_slot* slot) const noexcept;
    const shard_stats& stats() const noexcept { return stats_; }
    std::size_t max_nesting() const noexcept { return effects_.max_depth(); }
    void set_observer(shard_observer* observer) noexcept { observer_ = observer; }

private:
    struct outgoing_move {
        shard_index to;
        connection_id conn;
        bool session_present;
        std::uint64_t id;
        std::size_t flushes_pending;
        std::vector<connect_request> carried;  // CONNECTs that arrived while the session was leaving
    };
    struct entry {
        session_ref slot;
        std::uint32_t epoch;
        std::unique_ptr<session> state;
        connection_id conn = 0;  // 0 while offline
        std::unique_ptr<outgoing_move> move;  // while leaving for another shard (rare: not held inline)
        time_point expires_at = time_point::max();  // while offline and persistent, with session_expiry set
        std::uint64_t gate = 0;  // the storage ticket this session's outputs wait for (write-through mode)
    };
    // An output waiting for a storage ticket: to a connection, or a routed message's deliveries.
    struct routed {
        message_ptr msg;
        std::vector<subscriber> targets;
    };
    struct held_output {
        std::uint64_t gate;
        std::variant<connection_action, routed> what;
    };

    // shard.cpp: connections, effects, routing
    void begin(time_point now);
    entry& install(session_ref slot, std::uint32_t epoch, std::unique_ptr<session> state);
    entry* find(const session_slot* slot) noexcept;
    void attach(entry& e, connection_id conn, connection_params params, bool session_present, time_point now);
    void end_connection(entry& e, close_reason why, const char* detail, bool is_connection_open);
    void session_ended(entry& e, close_reason why, const char* detail, bool is_connection_open);
    void renew(entry& e);
    void start_empty(entry& e);
    void forget(entry& e);
    void discard(entry& e);
    void went_offline(entry& e);
    void apply(entry& e, effects& fx);
    void subscribe(entry& e, const add_subscription& s);
    void deliver_all(const message_ptr& msg, std::vector<subscriber>& targets);

    // shard_storage.cpp: storage requests, outputs held until what they depend on is stored, restore
    void publish_from(entry& e, route& r);
    void submit(std::vector<storage::operation> ops, entry* waiter);
    void emit(entry& e, connection_output what);
    void store_retained_copy(entry& e, message_ptr& msg, protocol::qos granted);
    message_ptr store_copy(const message& msg, const std::string& client_id, protocol::qos q, bool retain);
    void release(std::uint64_t ticket, bool ok);
    bool may_leave(const entry& e) const noexcept { return e.gate <= done_ticket_; }
    // For the least_inflight strategy of shared subscriptions: after every change to what a session holds.
    static void note_load(entry& e) noexcept { e.slot->set_load(e.state->inflight_count() + e.state->queued_count()); }
    void deliver(delivery d);
    void deliver_into(entry& e, message_ptr msg, protocol::qos granted, bool retained, share_ref share = {});
    void redispatch(const message_ptr& msg, const share_ref& share, std::uint8_t redispatches);
    void send(shard_index to, shard_message m);
    void unforeseen(const char* what, const session_slot& slot);

    // shard_migration.cpp: takeover and moves
    void dispatch_connect(connect_request req, time_point now);
    void take_over(entry& e, connect_request req, time_point now);
    void attach_waiting(entry& e, connection_id conn, bool session_present, time_point now);
    void start_move(entry& e, shard_index to, connection_id conn, bool session_present);
    void finish_move(entry& e);
    void flush_finished(const flush_done& f);
    void arrive(session_transfer t, time_point now);
    void refuse(connect_request req, const char* why);
    void answer(const connect_request& req, bool superseded);
    void refused(const connect_refused& r);
    void park(const session_slot* slot, shard_message m);

    shard_index index_;
    std::size_t shard_count_;
    router& router_;
    client_registry& registry_;
    shard_options options_;
    time_point now_{};  // of the input being handled
    std::shared_ptr<const access_rules> rules_;
    std::uint64_t rules_generation_ = 0;

    std::unordered_map<const session_slot*, std::unique_ptr<entry>> sessions_;
    std::unordered_map<connection_id, entry*> attached_;
    // Connections whose session is coming from another shard, with their CONNECT's parameters.
    std::unordered_map<connection_id, connection_params> waiting_;
    // Deliveries and connect_requests for slots moving to this shard, in arrival order.
    std::unordered_map<const session_slot*, std::vector<shard_message>> parked_;
    // Offline persistent sessions by expiry time; an entry whose session came back meanwhile is skipped.
    std::multimap<time_point, session_ref> expiries_;
    // Outputs waiting for storage, in gate order (tickets complete in the order they were given).
    std::deque<held_output> held_;
    std::uint64_t next_ticket_ = 0;
    std::uint64_t done_ticket_ = 0;
    // Sessions flushed and ready to move, but with outputs still waiting for storage.
    std::vector<session_ref> moves_waiting_;

    output out_;
    effects_stack effects_;
    std::vector<subscriber> targets_;
    std::vector<message_ptr> retained_found_;
    std::vector<std::pair<message_ptr, protocol::qos>> retained_pending_;
    std::uint64_t next_move_id_ = 0;
    shard_stats stats_;
    shard_observer* observer_ = nullptr;
};

}  // namespace mqttd::core
