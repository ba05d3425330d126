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
      shard_{static_cast<core::shard_index>(index), worker_count, shared.router, shared.registry,
             shared.options.session},
      work_{asio::make_work_guard(context_)} {}

worker::~worker() {
    stop_now();
    join();
}

void worker::start() {
    thread_ = std::thread{[this] {
        try {
            context_.run();
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

void worker::carry_out() {
    auto& out = shard_.out();
    while (!out.actions.empty()) {
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
        for (const auto id : failed_) {
            if (const auto it = connections_.find(id); it != connections_.end())
                it->second->closed_by_shard({core::close_reason::network_error, "internal error"});
            shard_.connection_lost(id, core::close_reason::network_error);  // its actions: next round
        }
        failed_.clear();
    }
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
        [&c](auto& what) {
            using T = std::decay_t<decltype(what)>;
            if constexpr (std::is_same_v<T, core::send_packet> || std::is_same_v<T, core::send_publish>) {
                c.send(what);
            } else if constexpr (std::is_same_v<T, core::close_connection>) {
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
    bool was_empty = false;
    {
        std::lock_guard lock{inbox_mutex_};
        was_empty = inbox_.empty();
        if (was_empty) {
            inbox_ = std::move(batch);
        } else {
            inbox_.insert(inbox_.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        }
    }
    if (was_empty) asio::post(context_, [this] { drain_inbox(); });
}

void worker::drain_inbox() {
    std::vector<core::shard_message> batch;
    {
        std::lock_guard lock{inbox_mutex_};
        batch.swap(inbox_);
    }
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

void worker::close_all() {
    std::vector<session_host*> open;
    open.reserve(connections_.size());
    for (const auto& [id, c] : connections_) open.push_back(c);
    for (auto* c : open) c->shut_down();
}

}  // namespace mqttd::net
