#include "broker/net/worker.hpp"

#include <boost/asio/post.hpp>

#include "broker/logging/log.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
using logging::level;
using logging::log_line;

worker::worker(std::size_t index, shared_state& shared)
    : index_{index}, shared_{shared}, work_{asio::make_work_guard(context_)} {}

worker::~worker() {
    stop_now();
    join();
}

void worker::start() {
    outbox_.resize(shared_.workers.size());
    thread_ = std::thread{[this] {
        try {
            context_.run();
        } catch (const std::exception& e) {
            // Connection coroutines catch their own errors; reaching here is a broker bug.
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

core::effects& worker::scratch() {
    if (scratch_depth_ == scratch_.size()) scratch_.emplace_back();
    auto& fx = scratch_[scratch_depth_];
    fx.clear();
    return fx;
}

void worker::open_session(std::shared_ptr<session_host> host) {
    if (!host->is_open()) return;
    const auto& params = host->connect_params();
    auto [slot, is_new] = shared_.registry.find_or_create(params.client_id, index_);
    if (is_new) {
        auto entry = std::make_unique<session_entry>(std::move(slot), shared_.options.session);
        adopt(std::move(entry), false, std::move(host));
        return;
    }
    const auto owner = slot->owner.load(std::memory_order_acquire);
    if (owner == index_) {
        hand_over(std::move(slot), index_, std::move(host));
    } else {
        asio::post(peer(owner).context(), [&w = peer(owner), slot = std::move(slot), to = index_,
                                           host = std::move(host)]() mutable {
            w.hand_over(std::move(slot), to, std::move(host));
        });
    }
}

// Runs on the worker that owns (or owned) the session `slot` names. [MQTT-3.1.4-2] closes the connection
// that holds the session, then moves a persistent session to the new connection's worker, or discards it
// when either side asked for a clean session [MQTT-3.1.2-6].
void worker::hand_over(core::session_ref slot, std::size_t to, std::shared_ptr<session_host> host) {
    const auto retry = [&] {
        if (to == index_) {
            open_session(std::move(host));
        } else {
            asio::post(peer(to).context(), [&w = peer(to), host = std::move(host)]() mutable {
                w.open_session(std::move(host));
            });
        }
    };
    auto it = sessions_.find(slot.get());
    if (it == sessions_.end()) {
        const auto owner = slot->owner.load(std::memory_order_acquire);
        if (owner != index_) {  // moved on meanwhile: follow it
            asio::post(peer(owner).context(), [&w = peer(owner), slot = std::move(slot), to,
                                               host = std::move(host)]() mutable {
                w.hand_over(std::move(slot), to, std::move(host));
            });
            return;
        }
        retry();  // discarded meanwhile: the registry no longer has it
        return;
    }
    if (auto old = it->second->host) old->close(core::close_reason::session_taken_over);
    it = sessions_.find(slot.get());  // a clean session is discarded when its connection closes
    if (it == sessions_.end()) {
        retry();
        return;
    }
    if (host->connect_params().clean_session) {
        discard(*it->second);
        retry();
        return;
    }
    auto entry = std::move(it->second);
    sessions_.erase(it);
    if (to == index_) {
        adopt(std::move(entry), true, std::move(host));
        return;
    }
    asio::post(peer(to).context(), [&w = peer(to), entry = std::move(entry), host = std::move(host)]() mutable {
        w.adopt(std::move(entry), true, std::move(host));
    });
    // After the post: a delivery that reads the new owner is queued behind the session on that worker.
    slot->owner.store(to, std::memory_order_release);
}

void worker::adopt(std::unique_ptr<session_entry> entry, bool session_present, std::shared_ptr<session_host> host) {
    auto& e = *entry;
    sessions_.emplace(e.slot.get(), std::move(entry));
    if (!host->is_open()) {
        // The client went away while its session travelled here: the session stays, offline.
        if (e.session.is_clean() && !e.session.is_online() && !session_present) discard(e);
        return;
    }
    e.host = host;
    host->attach(e, session_present);
}

void worker::session_closed(session_entry& entry, core::close_reason why) {
    auto& fx = scratch();
    ++scratch_depth_;
    entry.session.detach(why, fx);
    entry.host.reset();
    apply(entry, fx);
    --scratch_depth_;
    // [MQTT-3.1.2-6] a clean session lasts as long as its network connection.
    if (entry.session.is_clean()) discard(entry);
}

void worker::discard(session_entry& entry) {
    for (const auto& [filter, granted] : entry.session.subscriptions())
        shared_.router.unsubscribe(entry.slot.get(), filter);
    shared_.registry.erase(entry.slot);
    sessions_.erase(entry.slot.get());  // destroys entry
}

void worker::apply(session_entry& entry, core::effects& fx) {
    // Walk by index: delivering retained messages below appends nothing to fx, but keep it robust.
    for (std::size_t i = 0; i < fx.size(); ++i) {
        auto& effect = fx[i];
        if (auto* p = std::get_if<core::send_packet>(&effect)) {
            if (entry.host) entry.host->send(*p);
        } else if (auto* p = std::get_if<core::send_publish>(&effect)) {
            if (entry.host) entry.host->send(*p);
        } else if (auto* r = std::get_if<core::route>(&effect)) {
            route(r->msg);
        } else if (auto* s = std::get_if<core::add_subscription>(&effect)) {
            shared_.router.subscribe(entry.slot, s->filter, s->granted);
        } else if (auto* u = std::get_if<core::remove_subscription>(&effect)) {
            shared_.router.unsubscribe(entry.slot.get(), u->filter);
        } else if (auto* d = std::get_if<core::deliver_retained>(&effect)) {
            retained_scratch_.clear();
            shared_.router.retained_for(d->filter, retained_scratch_);
            auto retained = std::move(retained_scratch_);
            auto& out = scratch();
            ++scratch_depth_;
            for (const auto& msg : retained) entry.session.on_deliver(msg, d->granted, true, out);
            apply(entry, out);
            --scratch_depth_;
            retained_scratch_ = std::move(retained);
        } else if (auto* m = std::get_if<core::message_dropped>(&effect)) {
            shared_.dropped_messages.fetch_add(1, std::memory_order_relaxed);
            // Log the first drop and then every 1000th, so a flood does not flood the log too.
            if (m->dropped_total % 1000 == 1)
                log_line{level::warning} << "event=queue_full client_id=" << entry.slot->client_id
                                         << " topic=" << logging::quoted{m->topic} << " dropped_total=" << m->dropped_total;
        } else if (auto* c = std::get_if<core::close_connection>(&effect)) {
            // Terminal: closing may discard the session, so nothing after it may touch `entry`.
            if (entry.host) entry.host->close(c->reason);
            return;
        }
    }
}

void worker::route(const core::message_ptr& msg) {
    shared_.router.publish(msg, targets_);
    auto targets = std::move(targets_);
    for (const auto& t : targets) {
        const auto owner = t.session->owner.load(std::memory_order_acquire);
        if (owner == index_) {
            deliver(t.session, msg, t.granted);
        } else {
            outbox_[owner].push_back({t.session, msg, t.granted});
            schedule_flush();
        }
    }
    targets_ = std::move(targets);
}

void worker::deliver(const core::session_ref& slot, const core::message_ptr& msg, protocol::qos granted) {
    const auto it = sessions_.find(slot.get());
    if (it == sessions_.end()) {
        const auto owner = slot->owner.load(std::memory_order_acquire);
        if (owner != index_) {  // the session moved to another worker: forward
            outbox_[owner].push_back({slot, msg, granted});
            schedule_flush();
        }
        return;  // otherwise the session was discarded: nothing to deliver to
    }
    auto& entry = *it->second;
    auto& fx = scratch();
    ++scratch_depth_;
    entry.session.on_deliver(msg, granted, false, fx);
    apply(entry, fx);
    --scratch_depth_;
}

void worker::schedule_flush() {
    if (is_flush_scheduled_) return;
    is_flush_scheduled_ = true;
    // Runs after the current handler (a whole read's worth of packets): one post per peer worker per batch.
    asio::post(context_, [this] {
        is_flush_scheduled_ = false;
        flush_outbox();
    });
}

void worker::flush_outbox() {
    for (std::size_t k = 0; k < outbox_.size(); ++k) {
        if (outbox_[k].empty()) continue;
        peer(k).post_deliveries(std::move(outbox_[k]));
        outbox_[k].clear();
    }
}

void worker::post_deliveries(std::vector<delivery>&& batch) {
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
    std::vector<delivery> batch;
    {
        std::lock_guard lock{inbox_mutex_};
        batch.swap(inbox_);
    }
    for (const auto& d : batch) deliver(d.slot, d.msg, d.granted);
}

void worker::close_all(core::close_reason why) {
    const std::vector<session_host*> open(connections_.begin(), connections_.end());
    for (auto* c : open) c->close(why);
}

}  // namespace mqttd::net
