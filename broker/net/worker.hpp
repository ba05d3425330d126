#pragma once
// A worker: one thread running one io_context, the connections accepted onto it, and its core::shard,
// which owns the sessions those connections use. The worker keeps only the event loop, the sockets and the
// carrying of shard messages between threads; every MQTT decision is the shard's.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/core/client_registry.hpp"
#include "broker/core/router.hpp"
#include "broker/core/shard.hpp"
#include "broker/net/access_control.hpp"
#include "broker/net/broker_counters.hpp"
#include "broker/net/deadline_queue.hpp"
#include "broker/net/durable_store.hpp"
#include "broker/net/mailbox.hpp"
#include "broker/net/server_options.hpp"
#include "broker/net/session_host.hpp"

namespace mqttd::net {

class worker;

// What all workers share. Lives as long as the server.
struct shared_state {
    server_options options;
    core::router router;
    core::client_registry registry;
    std::unique_ptr<access_control> access;  // made before the workers, whose shards read its rules
    std::unique_ptr<durable_store> store;     // likewise: the shards write through it
    std::vector<std::unique_ptr<worker>> workers;
    // Connection ids in the order connections were made: the shard lets the newer of two racing for one
    // session keep it.
    std::atomic<core::connection_id> last_connection_id{0};
    std::atomic<std::size_t> open_connections{0};
    // Counts the work one thread hands to another: batches between workers, storage requests, their
    // completions. A clean stop waits until it no longer moves while every worker is idle.
    std::atomic<std::uint64_t> handoffs{0};
};

class worker {
public:
    worker(std::size_t index, std::size_t worker_count, shared_state& shared);
    ~worker();

    boost::asio::io_context& context() noexcept { return context_; }
    std::size_t index() const noexcept { return index_; }
    // This worker's copy: a reload changes it on this worker's thread (apply_options).
    const server_options& options() const noexcept { return options_; }
    access_control& access() noexcept { return *shared_.access; }
    deadline_queue& deadlines() noexcept { return deadlines_; }
    // On this worker's thread only.
    core::shard& shard() noexcept { return shard_; }

    void start();           // starts the thread
    void stop_when_idle();  // lets run() return once nothing is left to do
    void stop_now();        // stops the event loop
    void join();

    // On this worker's thread: connections register for the shard's actions, under a broker-wide id.
    core::connection_id add_connection(session_host* c);
    void remove_connection(core::connection_id id);
    // On this worker's thread, after every input to the shard: hands its actions to the connections now,
    // and its messages to other workers at the end of the current handler (one post per peer per batch).
    void carry_out();
    // On this worker's thread: closes every connection (broker shutdown).
    void close_all();
    // On this worker's thread: how many connections are registered.
    std::size_t connection_count() const noexcept { return connections_.size(); }
    // On this worker's thread: closes the connections a removed listener accepted (reload).
    void close_from_listener(const void* listener_place);
    // On this worker's thread: a reload's limits (max_packet_size, timeouts, max_outbound_bytes, the session
    // limits and session_expiry) for new connections and new sessions.
    void apply_options(const server_options& options);
    // On this worker's thread: a connection's unsent bytes crossed max_outbound_bytes. Reaches the shard at
    // once, or right after the actions being carried out, when it happens during one of them.
    void write_blocked(core::connection_id id, bool is_blocked);

    // On this worker's thread: where the connection with this id comes from; nullopt when it is gone.
    std::optional<connection_info> connection_info_of(core::connection_id id) const;

    // Warning: called from all threads. Messages from another worker's shard, in that shard's order.
    void post_messages(std::vector<core::shard_message>&& batch);

    // On this worker's thread: a connection ended, for the counts.
    void count_close(core::close_reason why) noexcept {
        counters_.closes[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    }
    // Warning: read from any thread.
    const worker_counters& counters() const noexcept { return counters_; }
    // On this worker's thread: the connections count their traffic, CONNACKs and latencies here.
    worker_counters& traffic() noexcept { return counters_; }

    // On this worker's thread: publishes the broker's own messages ($SYS) through the shard.
    void publish_system(const std::vector<core::message_ptr>& messages);

private:
    void perform(core::connection_action& action);
    // Once a second: session expiry, and the shard's counts copied out for other threads.
    void schedule_housekeeping();
    void housekeeping();
    void publish_counters() noexcept;
    void drain_inbox();
    void flush_outbox();
    // Warning: called on the commit thread. A storage request this worker submitted is done.
    void storage_done(std::uint64_t ticket, bool ok);
    void drain_storage_done();
    worker& peer(std::size_t i) { return *shared_.workers[i]; }

    std::size_t index_;
    shared_state& shared_;
    server_options options_;
    core::shard shard_;
    std::thread thread_;

    std::unordered_map<core::connection_id, session_host*> connections_;
    std::vector<core::connection_id> failed_;  // connections whose action threw, ended after the walk
    std::vector<std::pair<core::connection_id, bool>> blocked_changes_;  // met while carrying out
    bool is_carrying_out_ = false;

    mailbox<core::shard_message> inbox_;              // deliveries other workers routed here
    mailbox<std::pair<std::uint64_t, bool>> stored_;  // storage tickets done, with their outcome
    bool is_flush_scheduled_ = false;
    worker_counters counters_;
    bool is_stopping_ = false;
    bool is_destroying_ = false;  // ~worker: the deadline queue is gone

    // Last, so they go first: handlers still queued at destruction may end connections, which unregister
    // from connections_ above.
    boost::asio::io_context context_{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    boost::asio::steady_timer housekeeping_timer_{context_};
    core::time_point housekeeping_due_{};  // when the timer should fire: how late it does is the loop's lag
    deadline_queue deadlines_{context_, [this](core::connection_id id, core::time_point at, core::time_point now) {
                                  if (const auto it = connections_.find(id); it != connections_.end())
                                      it->second->on_deadline(at, now);
                              }};
};

}  // namespace mqttd::net
