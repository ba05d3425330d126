#pragma once
// A worker: one thread running one io_context, owning the connections accepted onto it and the sessions
// they attach to. A connection and its session live on one worker, so neither needs a lock; other workers
// reach them only by posting to this worker.

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "broker/core/client_registry.hpp"
#include "broker/core/router.hpp"
#include "broker/net/server_options.hpp"
#include "broker/net/session_host.hpp"

namespace mqttd::net {

class worker;

// What all workers share. Lives as long as the server.
struct shared_state {
    server_options options;
    core::router router;
    core::client_registry registry;
    std::vector<std::unique_ptr<worker>> workers;
    std::atomic<std::uint64_t> dropped_messages{0};
};

class worker {
public:
    worker(std::size_t index, shared_state& shared);
    ~worker();

    boost::asio::io_context& context() noexcept { return context_; }
    std::size_t index() const noexcept { return index_; }
    const server_options& options() const noexcept { return shared_.options; }

    void start();                 // starts the thread
    void stop_when_idle();        // lets run() return once every connection has ended
    void stop_now();              // stops the event loop
    void join();

    // On this worker's thread: a connection's CONNECT was accepted; find, take over or create its session.
    void open_session(std::shared_ptr<session_host> host);
    // On this worker's thread: the session's connection ended.
    void session_closed(session_entry& entry, core::close_reason why);
    // On this worker's thread: carry out what a session asked for.
    void apply(session_entry& entry, core::effects& fx);
    // On this worker's thread: new and ended connections, so shutdown can reach every one.
    void register_connection(session_host* c) { connections_.insert(c); }
    void unregister_connection(session_host* c) { connections_.erase(c); }
    // On this worker's thread: closes every connection (broker shutdown).
    void close_all(core::close_reason why);

    // Warning: called from all threads. Messages routed here by other workers, one post per batch.
    struct delivery {
        core::session_ref slot;
        core::message_ptr msg;
        protocol::qos granted;
    };
    void post_deliveries(std::vector<delivery>&& batch);

    std::size_t session_count() const noexcept { return sessions_.size(); }

private:
    void route(const core::message_ptr& msg);
    void deliver(const core::session_ref& slot, const core::message_ptr& msg, protocol::qos granted);
    void drain_inbox();
    void schedule_flush();
    void flush_outbox();
    void hand_over(core::session_ref slot, std::size_t to, std::shared_ptr<session_host> host);
    void adopt(std::unique_ptr<session_entry> entry, bool session_present, std::shared_ptr<session_host> host);
    void discard(session_entry& entry);
    core::effects& scratch();
    worker& peer(std::size_t i) { return *shared_.workers[i]; }

    std::size_t index_;
    shared_state& shared_;
    std::thread thread_;

    std::unordered_map<const core::session_slot*, std::unique_ptr<session_entry>> sessions_;
    std::unordered_set<session_host*> connections_;

    std::mutex inbox_mutex_;
    std::vector<delivery> inbox_;
    std::vector<std::vector<delivery>> outbox_;  // per destination worker, flushed once per handler
    bool is_flush_scheduled_ = false;
    std::vector<core::subscriber> targets_;
    std::vector<core::message_ptr> retained_scratch_;
    // Effects vectors by nesting depth: applying a PUBLISH delivers to local sessions, whose effects are
    // applied while the publisher's are still being walked.
    std::deque<core::effects> scratch_;  // deque: growing it keeps references to the vectors in use
    std::size_t scratch_depth_ = 0;

    // Last, so they go first: handlers still queued at destruction may end connections, which unregister
    // from connections_ above.
    boost::asio::io_context context_{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
};

}  // namespace mqttd::net
