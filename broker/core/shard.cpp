#include "broker/core/shard.hpp"

#include <algorithm>
#include <type_traits>

#include "broker/logging/log.hpp"

namespace mqttd::core {

using logging::level;
using logging::log_line;
using logging::quoted;

shard::shard(shard_index index, std::size_t shard_count, router& routes, client_registry& registry,
             shard_options options)
    : index_{index}, shard_count_{shard_count}, router_{routes}, registry_{registry}, options_{options} {
    options_.session.is_stored = options_.storage != storage_mode::off;
    out_.outbox.resize(shard_count);
}

shard::~shard() = default;

void shard::set_limits(const session_limits& limits, std::chrono::milliseconds session_expiry) {
    const bool is_stored = options_.session.is_stored;
    options_.session = limits;
    options_.session.is_stored = is_stored;  // follows the storage mode, which a reload does not change
    options_.session_expiry = session_expiry;
}

// Every input starts here: the time it happened, and the access rules as they are now (a reload publishes
// new ones; this is the only place they are picked up, so they never change in the middle of an input).
void shard::begin(time_point now) {
    now_ = now;
    if (options_.access == nullptr) return;
    const auto generation = options_.access->generation();
    if (generation == rules_generation_) return;
    rules_ = options_.access->current();
    rules_generation_ = generation;
}

// ---- inputs from this shard's connections

void shard::connect(connection_id conn, connection_params params, time_point now) {
    begin(now);
    // A will the client could not publish is refused up front: CONNACK 5. ($SYS/ is the broker's.)
    if (params.will) {
        const client_identity who{params.username ? std::optional<std::string_view>{*params.username} : std::nullopt,
                                  params.client_id};
        const auto topic = params.will->topic();
        if (topic.starts_with("$SYS/") || (rules_ && !rules_->may_publish(who, topic))) {
            ++stats_.publishes_denied;
            log_line{level::info} << "event=will_denied client_id=" << quoted{params.client_id}
                                  << " username=" << quoted{params.username.value_or("")}
                                  << " topic=" << quoted{params.will->topic()};
            out_.actions.push_back({conn, connection_refused{protocol::connack_code::not_authorized}});
            return;
        }
    }
    auto [slot, is_new] = registry_.acquire(params.client_id, index_);
    if (is_new) {
        const auto epoch = slot->next_epoch();
        auto& e = install(slot, epoch, std::make_unique<session>(slot->client_id, options_.session));
        attach(e, conn, std::move(params), false, now);
        return;
    }
    const bool clean = params.clean_session;
    waiting_.insert_or_assign(conn, std::move(params));
    dispatch_connect(connect_request{std::move(slot), index_, conn, clean}, now);
}

void shard::packet(connection_id conn, const protocol::packet& p, time_point now) {
    begin(now);
    const auto it = attached_.find(conn);
    if (it == attached_.end()) return;  // closed by the shard a moment ago; the rest of its bytes are moot
    auto& e = *it->second;
    const effects_stack::lease fx{effects_};
    e.state->on_packet(p, now, *fx, rules_.get());
    note_load(e);
    apply(e, *fx);
}

void shard::tick(connection_id conn, time_point now) {
    begin(now);
    const auto it = attached_.find(conn);
    if (it == attached_.end()) return;
    auto& e = *it->second;
    const effects_stack::lease fx{effects_};
    e.state->on_tick(now, *fx);
    apply(e, *fx);
}

void shard::connection_lost(connection_id conn, close_reason why, time_point now) {
    begin(now);
    // A connection still waiting for its session: the session settles offline when it arrives.
    if (waiting_.erase(conn) != 0) return;
    const auto it = attached_.find(conn);
    if (it == attached_.end()) return;
    session_ended(*it->second, why, nullptr, false);
}

void shard::write_blocked(connection_id conn, bool is_blocked, time_point now) {
    begin(now);
    const auto it = attached_.find(conn);
    if (it == attached_.end()) return;
    auto& e = *it->second;
    const effects_stack::lease fx{effects_};
    e.state->set_write_blocked(is_blocked, now, *fx);
    apply(e, *fx);
}

std::size_t shard::expire(time_point now) {
    begin(now);
    std::size_t expired = 0;
    while (!expiries_.empty() && expiries_.begin()->first <= now) {
        const auto node = expiries_.extract(expiries_.begin());
        auto* e = find(node.mapped().get());
        // Reconnected, moved away or already gone since: its own deadline (if any) is elsewhere.
        if (e == nullptr || e->conn != 0 || e->move || e->expires_at != node.key()) continue;
        log_line{level::info} << "event=session_expired client_id=" << quoted{e->slot->client_id}
                              << " queued=" << e->state->queued_count();
        ++stats_.sessions_expired;
        ++expired;
        discard(*e);
    }
    return expired;
}

time_point shard::keepalive_deadline(connection_id conn) const noexcept {
    const auto it = attached_.find(conn);
    return it == attached_.end() ? time_point::max() : it->second->state->keepalive_deadline();
}

const session* shard::find_session(const session_slot* slot) const noexcept {
    const auto it = sessions_.find(slot);
    return it == sessions_.end() ? nullptr : it->second->state.get();
}

void shard::publish_system(const message_ptr& msg, time_point now) {
    begin(now);
    msg->set_received_at(now);
    auto targets = std::move(targets_);
    router_.publish(msg, targets);
    deliver_all(msg, targets);
    targets_ = std::move(targets);
}

shard::queue_depths shard::depths() const noexcept {
    queue_depths d;
    for (const auto& [slot, e] : sessions_) {
        const auto queued = e->state->queued_count();
        d.queued += queued;
        d.max_queued = std::max(d.max_queued, queued);
        d.inflight += e->state->inflight_count();
    }
    return d;
}

// ---- inputs from other shards

void shard::receive(shard_message message, time_point now) {
    begin(now);
    std::visit(
        [&](auto&& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, delivery>) {
                deliver(std::move(m));
            } else if constexpr (std::is_same_v<T, connect_request>) {
                dispatch_connect(std::move(m), now);
            } else if constexpr (std::is_same_v<T, flush_request>) {
                // Everything this shard routed to the slot before now is already ahead on the channel.
                send(m.origin, flush_done{std::move(m.slot), m.move_id});
            } else if constexpr (std::is_same_v<T, flush_done>) {
                flush_finished(m);
            } else if constexpr (std::is_same_v<T, session_transfer>) {
                arrive(std::move(m), now);
            } else {
                refused(m);
            }
        },
        std::move(message));
}

// ---- sessions and their connections

shard::entry& shard::install(session_ref slot, std::uint32_t epoch, std::unique_ptr<session> state) {
    const auto* key = slot.get();
    auto e = std::make_unique<entry>(entry{std::move(slot), epoch, std::move(state), 0, nullptr});
    auto& ref = *e;
    sessions_.insert_or_assign(key, std::move(e));
    return ref;
}

shard::entry* shard::find(const session_slot* slot) noexcept {
    const auto it = sessions_.find(slot);
    return it == sessions_.end() ? nullptr : it->second.get();
}

void shard::attach(entry& e, connection_id conn, connection_params params, bool session_present, time_point now) {
    e.conn = conn;
    e.expires_at = time_point::max();
    e.slot->set_online(true);
    attached_.insert_or_assign(conn, &e);
    out_.actions.push_back({conn, connection_attached{session_present}});
    const effects_stack::lease fx{effects_};
    e.state->attach(std::move(params), session_present, now, *fx);
    apply(e, *fx);
}

// Detaches the connection from the session (publishing the will when the reason calls for it) and, when
// the connection is still open, tells it to close. The session itself stays.
void shard::end_connection(entry& e, close_reason why, const char* detail, bool is_connection_open) {
    const auto conn = e.conn;
    attached_.erase(conn);
    e.conn = 0;
    e.slot->set_online(false);
    if (is_connection_open) out_.actions.push_back({conn, close_connection{why, detail}});
    const effects_stack::lease fx{effects_};
    e.state->detach(why, *fx);
    apply(e, *fx);
}

void shard::session_ended(entry& e, close_reason why, const char* detail, bool is_connection_open) {
    end_connection(e, why, detail, is_connection_open);
    // [MQTT-3.1.2-6] a clean session lasts as long as its network connection.
    if (e.state->is_clean()) {
        discard(e);
    } else {
        went_offline(e);
    }
}

void shard::went_offline(entry& e) {
    if (options_.session_expiry.count() == 0) return;
    e.expires_at = now_ + options_.session_expiry;
    expiries_.emplace(e.expires_at, e.slot);
}

// [MQTT-3.1.2-6] the previous session is discarded and a new one starts under the same slot. Its new
// epoch makes whatever was routed to the old one (and is still on its way) miss.
void shard::renew(entry& e) {
    forget(e);
    start_empty(e);
}

// Only after forget(e): a second forget would send the group messages it held to their groups again.
void shard::start_empty(entry& e) {
    e.epoch = e.slot->next_epoch();
    e.state = std::make_unique<session>(e.slot->client_id, options_.session);
    e.gate = 0;  // the old incarnation's held outputs go to its old connection, whatever happens here
}

// The session's subscriptions leave the tree, what it took through groups and did not finish goes to their
// other members, and a stored session leaves storage (its queue with it).
void shard::forget(entry& e) {
    for (const auto& [filter, granted] : e.state->subscriptions()) router_.unsubscribe(e.slot.get(), filter);
    for (const auto& u : e.state->unfinished_shared()) redispatch(u.msg, u.share, 0);
    if (e.state->is_stored()) {
        std::vector<storage::operation> ops;
        ops.push_back(storage::delete_session{e.slot->client_id});
        submit(std::move(ops), nullptr);
    }
}

void shard::discard(entry& e) {
    forget(e);
    if (registry_.release(e.slot)) {
        sessions_.erase(e.slot.get());  // destroys e
        return;
    }
    // A CONNECT that found this slot is on its way here: keep an empty session for it to take over. The old
    // one is forgotten already (not renew(), which would forget it twice).
    start_empty(e);
}

// ---- effects

void shard::apply(entry& e, effects& fx) {
    // By index: nothing appends to fx while it is walked, but the effects of other sessions may be applied
    // in between (local deliveries of a routed message).
    for (std::size_t i = 0; i < fx.size(); ++i) {
        auto& effect = fx[i];
        if (auto* p = std::get_if<send_packet>(&effect)) {
            emit(e, std::move(*p));
        } else if (auto* p = std::get_if<send_publish>(&effect)) {
            emit(e, std::move(*p));
        } else if (auto* r = std::get_if<route>(&effect)) {
            publish_from(e, *r);
        } else if (auto* p = std::get_if<persist>(&effect)) {
            submit(std::move(p->ops), p->wait ? &e : nullptr);
        } else if (auto* s = std::get_if<add_subscription>(&effect)) {
            subscribe(e, *s);
        } else if (auto* d = std::get_if<subscribe_denied>(&effect)) {
            ++stats_.subscriptions_denied;
            log_line{level::info} << "event=subscribe_denied client_id=" << quoted{e.slot->client_id}
                                  << " username=" << quoted{e.state->params().username.value_or("")}
                                  << " filter=" << quoted{d->filter};
        } else if (auto* u = std::get_if<remove_subscription>(&effect)) {
            router_.unsubscribe(e.slot.get(), u->filter);
        } else if (std::holds_alternative<deliver_retained>(effect)) {
            auto pending = std::move(retained_pending_);
            retained_pending_.clear();
            for (const auto& [msg, granted] : pending) deliver_into(e, msg, granted, true);
        } else if (auto* m = std::get_if<message_dropped>(&effect)) {
            ++stats_.dropped[static_cast<std::size_t>(m->reason)];
            // QoS 0 for an offline client is not kept by design; any other drop is news. The first and then
            // every 1000th per session and reason, so a flood does not flood the log too.
            if (m->reason != drop_reason::offline_qos0 && m->dropped_total % 1000 == 1)
                log_line{level::warning} << "event=message_dropped reason=" << to_string(m->reason)
                                         << " client_id=" << quoted{e.slot->client_id}
                                         << " topic=" << quoted{m->topic} << " dropped_total=" << m->dropped_total;
        } else if (auto* c = std::get_if<close_connection>(&effect)) {
            // Terminal: ending the session may discard it, so nothing after this may touch `e`.
            session_ended(e, c->reason, c->detail, true);
            return;
        }
    }
}

void shard::subscribe(entry& e, const add_subscription& s) {
    retained_found_.clear();
    router_.subscribe(subscriber{e.slot, e.epoch, s.granted, e.state->is_stored()}, s.filter, retained_found_);
    for (auto& msg : retained_found_) retained_pending_.emplace_back(std::move(msg), s.granted);
}

void shard::deliver_all(const message_ptr& msg, std::vector<subscriber>& targets) {
    for (auto& t : targets) {
        const auto owner = t.session->owner();
        if (owner == index_) {
            deliver(delivery{std::move(t.session), t.epoch, msg, t.granted, std::move(t.share)});
        } else {
            send(owner, delivery{std::move(t.session), t.epoch, msg, t.granted, std::move(t.share)});
        }
    }
    targets.clear();
}

void shard::deliver(delivery d) {
    if (auto* e = find(d.slot.get())) {
        // A different epoch: routed to an incarnation that has since been discarded. A group's message goes
        // back to the group; any other went with the subscription that matched it.
        if (e->epoch == d.epoch) {
            deliver_into(*e, d.msg, d.granted, false, std::move(d.share));
        } else if (d.share) {
            redispatch(d.msg, d.share, d.redispatches);
        }
        return;
    }
    const auto where = d.slot->location();
    if (where.state == slot_state::gone) {  // the subscription ended with the session
        if (d.share) redispatch(d.msg, d.share, d.redispatches);
        return;
    }
    if (where.shard == index_) {
        const auto* slot = d.slot.get();
        if (where.state == slot_state::moving) return park(slot, std::move(d));  // the session is on its way here
        return unforeseen("delivery for a session live here but not in the table", *d.slot);
    }
    // The session left since this was routed: a parked delivery replayed after a takeover sent a renewed
    // session on at once. Follow it; its epoch decides there. (A resumed session only leaves once every
    // shard has flushed what it routed here, so its messages never take this path.)
    ++stats_.forwarded;
    send(where.shard, std::move(d));
}

void shard::deliver_into(entry& e, message_ptr msg, protocol::qos granted, bool retained, share_ref share) {
    // Read access per message: a filter that overlaps topics the client may not read delivers only the others.
    if (rules_ && !rules_->may_receive(e.state->identity(), msg->topic())) {
        ++stats_.deliveries_denied;
        return;
    }
    if (retained) store_retained_copy(e, msg, granted);
    if (observer_ != nullptr) observer_->taken_in(*e.slot, e.epoch, msg, retained);
    const effects_stack::lease fx{effects_};
    e.state->on_deliver(msg, granted, retained, *fx, std::move(share));
    note_load(e);
    apply(e, *fx);
}

void shard::send(shard_index to, shard_message m) { out_.outbox[to].push_back(std::move(m)); }

void shard::unforeseen(const char* what, const session_slot& slot) {
    ++stats_.unforeseen;
    log_line{level::error} << "event=session_state_unforeseen shard=" << index_ << " client_id="
                           << quoted{slot.client_id} << " what=" << quoted{what};
}

}  // namespace mqttd::core
