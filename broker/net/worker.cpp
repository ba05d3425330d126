#include "broker/net/worker.hpp"

#include <boost/asio/post.hpp>

#include "broker/logging/log.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
using logging::level;
using logging::log_line;

worker::worker(std::size_t index, std::size_t worker_count, shared_state& shared)
    : index_{index},
      shared_{shared},
      options_{shared.options},
      shard_{static_cast<core::shard_index>(index), worker_count, shared.router, shared.registry,
             shared.options.shard},
      work_{asio::make_work_guard(context_)} {}

worker::~worker() {
    stop_now();
    join();
    // Destroying context_ below destroys the connections its handlers still hold; they unregister through
    // remove_connection(), which must not touch deadlines_, destroyed before context_ (declared after it).
    is_destroying_ = true;
}

void worker::start() {
    schedule_housekeeping();
    thread_ = std::thread{[this] {
        try {
            context_.run();
            publish_counters();  // what happened since the last housekeeping tick, for the final summary
        } catch (const std::exception& e) {
            // Connection coroutines and the handlers below catch their own errors; reaching here is a bug.
            log_line{level::error} << "event=worker_failed worker=" << index_ << " reason=" << logging::quoted{e.what()};
            std::abort();
        }
    }};
}

void worker::stop_when_idle() { work_.reset(); }
void worker::stop_now() { context_.stop(); }
void worker::join() {
    if (thread_.joinable()) thread_.join();
}

core::connection_id worker::add_connection(session_host* c) {
    const auto id = shared_.last_connection_id.fetch_add(1, std::memory_order_relaxed) + 1;
    connections_.emplace(id, c);
    return id;
}

void worker::write_blocked(core::connection_id id, bool is_blocked) {
    if (is_carrying_out_) {
        blocked_changes_.emplace_back(id, is_blocked);
        return;
    }
    shard_.write_blocked(id, is_blocked, core::clock::now());
    carry_out();
}

void worker::remove_connection(core::connection_id id) {
    connections_.erase(id);
    // Stopping: the last connection is gone, and a pending deadline must not keep the event loop running.
    if (is_stopping_ && !is_destroying_ && connections_.empty()) deadlines_.stop();
}

std::optional<connection_info> worker::connection_info_of(core::connection_id id) const {
    const auto it = connections_.find(id);
    if (it == connections_.end()) return std::nullopt;
    return it->second->info();
}

void worker::carry_out() {
    auto& out = shard_.out();
    while (!out.actions.empty() || !blocked_changes_.empty()) {
        is_carrying_out_ = true;
        // Performing an action never feeds the shard, so the vector does not grow while it is walked.
        for (auto& action : out.actions) {
            try {
                perform(action);
            } catch (const std::exception& e) {
                // One connection's action failed (out of memory, most likely): that connection ends, not
                // the worker.
                log_line{level::error} << "event=action_failed conn=" << action.conn
                                       << " reason=" << logging::quoted{e.what()};
                failed_.push_back(action.conn);
            }
        }
        out.actions.clear();
        is_carrying_out_ = false;
        // Inputs met while the actions were carried out; their own actions are carried out next round.
        const auto now = core::clock::now();
        for (const auto id : failed_) {
            if (const auto it = connections_.find(id); it != connections_.end())
                it->second->closed_by_shard({core::close_reason::network_error, "internal error"});
            shard_.connection_lost(id, core::close_reason::network_error, now);
        }
        failed_.clear();
        for (const auto& [id, is_blocked] : blocked_changes_) shard_.write_blocked(id, is_blocked, now);
        blocked_changes_.clear();
    }
    for (auto& request : out.storage) {
        shared_.handoffs.fetch_add(1, std::memory_order_relaxed);
        if (request.ticket == 0) {
            shared_.store->submit(std::move(request.ops), {});
            continue;
        }
        // On the commit thread, once stored: what waited for it goes out, on this worker.
        shared_.store->submit(std::move(request.ops),
                              [this, ticket = request.ticket](bool ok) { storage_done(ticket, ok); });
    }
    out.storage.clear();
    if (is_flush_scheduled_) return;
    for (const auto& batch : out.outbox) {
        if (batch.empty()) continue;
        is_flush_scheduled_ = true;
        // Runs after the current handler (a whole read's worth of packets): one post per peer per batch.
        asio::post(context_, [this] {
            is_flush_scheduled_ = false;
            flush_outbox();
        });
        return;
    }
}

void worker::perform(core::connection_action& action) {
    const auto it = connections_.find(action.conn);
    if (it == connections_.end()) return;  // the connection ended meanwhile; the shard has let go of it
    auto& c = *it->second;
    std::visit(
        [this, &c](auto& what) {
            using T = std::decay_t<decltype(what)>;
            if constexpr (std::is_same_v<T, core::send_packet> || std::is_same_v<T, core::send_publish>) {
                c.send(what);
            } else if constexpr (std::is_same_v<T, core::close_connection>) {
                // What the shard sent other workers before this close (a will, say) leaves before the
                // client can see its connection end: someone who then publishes on another worker comes
                // after it there.
                flush_outbox();
                c.closed_by_shard(what);
            } else if constexpr (std::is_same_v<T, core::connection_attached>) {
                c.attached(what.session_present);
            } else {
                c.refused(what.code);
            }
        },
        action.what);
}

void worker::flush_outbox() {
    auto& outbox = shard_.out().outbox;
    for (std::size_t k = 0; k < outbox.size(); ++k) {
        if (outbox[k].empty()) continue;
        peer(k).post_messages(std::move(outbox[k]));
        outbox[k].clear();
    }
}

void worker::post_messages(std::vector<core::shard_message>&& batch) {
    shared_.handoffs.fetch_add(1, std::memory_order_relaxed);
    if (inbox_.put_all(std::move(batch))) asio::post(context_, [this] { drain_inbox(); });
}

void worker::storage_done(std::uint64_t ticket, bool ok) {
    shared_.handoffs.fetch_add(1, std::memory_order_relaxed);
    if (stored_.put({ticket, ok})) asio::post(context_, [this] { drain_storage_done(); });
}

void worker::drain_storage_done() {
    const auto log_failure = [this](const std::exception& e) {
        log_line{level::error} << "event=storage_completion_failed worker=" << index_
                               << " reason=" << logging::quoted{e.what()};
    };
    // Every request of a group commit at once, then one carry_out(): the acknowledgements and deliveries they
    // release leave in one write per connection.
    const auto now = core::clock::now();
    for (const auto& [ticket, ok] : stored_.take()) {
        try {
            shard_.stored(ticket, ok, now);
        } catch (const std::exception& e) {
            log_failure(e);
        }
    }
    try {
        carry_out();
    } catch (const std::exception& e) {
        log_failure(e);
    }
}

void worker::drain_inbox() {
    auto batch = inbox_.take();
    const auto now = core::clock::now();
    for (auto& m : batch) {
        try {
            shard_.receive(std::move(m), now);
            carry_out();
        } catch (const std::exception& e) {
            // Out of memory while taking one message in: that message is lost for its session, and said
            // so; the worker and everyone else carry on.
            log_line{level::error} << "event=shard_message_failed worker=" << index_
                                   << " reason=" << logging::quoted{e.what()};
        }
    }
}

void worker::publish_system(const std::vector<core::message_ptr>& messages) {
    try {
        const auto now = core::clock::now();
        for (const auto& m : messages) shard_.publish_system(m, now);
        carry_out();
    } catch (const std::exception& e) {
        log_line{level::error} << "event=sys_publish_failed worker=" << index_ << " reason=" << logging::quoted{e.what()};
    }
}

void worker::schedule_housekeeping() {
    housekeeping_due_ = core::clock::now() + std::chrono::seconds{1};
    housekeeping_timer_.expires_at(housekeeping_due_);
    housekeeping_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || is_stopping_) return;
        // A timer fires after every handler queued before it: its lateness is what a client's packet waits.
        const auto lag = core::clock::now() - housekeeping_due_;
        counters_.loop_lag_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(lag).count(),
                                    std::memory_order_relaxed);
        housekeeping();
        schedule_housekeeping();
    });
}

void worker::housekeeping() {
    try {
        shard_.expire(core::clock::now());
        carry_out();
    } catch (const std::exception& e) {
        log_line{level::error} << "event=housekeeping_failed worker=" << index_ << " reason=" << logging::quoted{e.what()};
    }
    publish_counters();
}

void worker::publish_counters() noexcept {
    const auto& s = shard_.stats();
    for (std::size_t i = 0; i < s.dropped.size(); ++i) counters_.dropped[i].store(s.dropped[i], std::memory_order_relaxed);
    counters_.sessions_expired.store(s.sessions_expired, std::memory_order_relaxed);
    counters_.takeovers.store(s.takeovers, std::memory_order_relaxed);
    counters_.superseded_connects.store(s.superseded, std::memory_order_relaxed);
    counters_.session_moves.store(s.moves, std::memory_order_relaxed);
    counters_.unforeseen_states.store(s.unforeseen, std::memory_order_relaxed);
    counters_.publishes_denied.store(s.publishes_denied, std::memory_order_relaxed);
    counters_.deliveries_denied.store(s.deliveries_denied, std::memory_order_relaxed);
    counters_.subscriptions_denied.store(s.subscriptions_denied, std::memory_order_relaxed);
    counters_.shared_undeliverable.store(s.shared_undeliverable, std::memory_order_relaxed);
    counters_.sessions.store(shard_.session_count(), std::memory_order_relaxed);
    counters_.connected_sessions.store(shard_.connected_count(), std::memory_order_relaxed);
    const auto depths = shard_.depths();
    counters_.queued_messages.store(depths.queued, std::memory_order_relaxed);
    counters_.max_queued_messages.store(depths.max_queued, std::memory_order_relaxed);
    counters_.inflight_messages.store(depths.inflight, std::memory_order_relaxed);
}

void worker::close_from_listener(const void* listener_place) {
    std::vector<session_host*> doomed;
    for (const auto& [id, c] : connections_)
        if (c->listener_place() == listener_place) doomed.push_back(c);
    for (auto* c : doomed) c->shut_down();
}

void worker::apply_options(const server_options& options) {
    options_ = options;
    shard_.set_limits(options.shard.session, options.shard.session_expiry);
}

void worker::close_all() {
    // The housekeeping timer would keep the event loop from ever being idle.
    is_stopping_ = true;
    housekeeping_timer_.cancel();
    if (connections_.empty()) deadlines_.stop();
    std::vector<session_host*> open;
    open.reserve(connections_.size());
    for (const auto& [id, c] : connections_) open.push_back(c);
    for (auto* c : open) c->shut_down();
}

}  // namespace mqttd::net
