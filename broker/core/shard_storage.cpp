// The shard's side of durable storage (README: "Durable storage"): which changes a PUBLISH makes (its body once,
// a queue entry per persistent subscriber, the retained copy, the publisher's QoS 2 packet id), and, in
// write-through mode, holding back what must not be seen before those changes are stored: the PUBACK or
// PUBREC, the deliveries, and everything the same session sends after them.

#include "broker/core/shard.hpp"

#include <algorithm>

#include "broker/logging/log.hpp"

namespace mqttd::core {

using logging::level;
using logging::log_line;
using logging::quoted;

namespace {

storage::stored_message stored_form(const message& m, std::uint64_t id) {
    return {id, std::string{m.topic()},
            std::string{reinterpret_cast<const char*>(m.payload().data()), m.payload().size()},
            static_cast<std::uint8_t>(m.qos_level()), m.is_retained()};
}

}  // namespace

void shard::submit(std::vector<storage::operation> ops, entry* waiter) {
    if (options_.storage == storage_mode::off || ops.empty()) return;
    std::uint64_t ticket = 0;
    if (waiter != nullptr && options_.storage == storage_mode::write_through) {
        ticket = ++next_ticket_;
        waiter->gate = ticket;
    }
    out_.storage.push_back({std::move(ops), ticket});
}

// Everything a session sends goes through here, so that nothing overtakes what waits for storage.
void shard::emit(entry& e, connection_output what) {
    if (e.conn == 0) return;
    if (e.gate > done_ticket_) {
        held_.push_back({e.gate, connection_action{e.conn, std::move(what)}});
    } else {
        out_.actions.push_back({e.conn, std::move(what)});
    }
}

void shard::publish_from(entry& e, route& r) {
    // A PUBLISH (or a will) the client may not write: acknowledged at its QoS and dropped, as 3.1.1 has no
    // negative acknowledgement. $SYS/ belongs to the broker whatever the ACL says (as in Mosquitto).
    const auto topic = r.msg->topic();
    if (topic.starts_with("$SYS/") || (rules_ && !rules_->may_publish(e.state->identity(), topic))) {
        ++stats_.publishes_denied;
        log_line{level::info} << "event=publish_denied client_id=" << quoted{e.slot->client_id}
                              << " username=" << quoted{e.state->params().username.value_or("")}
                              << " topic=" << quoted{topic};
        if (r.ack) emit(e, send_packet{std::move(*r.ack)});
        return;
    }
    r.msg->set_received_at(now_);
    auto targets = std::move(targets_);
    router_.publish(r.msg, targets, e.slot->client_id);
    if (options_.storage != storage_mode::off) {
        std::vector<storage::operation> ops;
        // A queue entry for every persistent subscriber that takes it at QoS 1 or 2, and the body once. A
        // session's queue holds a message once (the key is the message id), so a session that is also a
        // group's pick gets one stored entry: a restart delivers it that one time.
        const auto is_stored_target = [&](std::size_t i) {
            const auto& t = targets[i];
            if (!t.persistent || std::min(r.msg->qos_level(), t.granted) == protocol::qos::at_most_once) return false;
            if (!t.share) return true;  // ordinary targets are one per session, and come first
            for (std::size_t j = 0; j < i; ++j)
                if (targets[j].session.get() == t.session.get()) return false;
            return true;
        };
        std::uint32_t references = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) references += is_stored_target(i) ? 1 : 0;
        if (references != 0) {
            r.msg->set_storage_id(options_.message_ids->fetch_add(1, std::memory_order_relaxed));
            ops.push_back(storage::put_message{stored_form(*r.msg, r.msg->storage_id()), references});
            for (std::size_t i = 0; i < targets.size(); ++i) {
                if (!is_stored_target(i)) continue;
                const auto& t = targets[i];
                const auto q = std::min(r.msg->qos_level(), t.granted);
                ops.push_back(storage::put_queue_entry{
                    t.session->client_id,
                    {r.msg->storage_id(), static_cast<std::uint8_t>(q), false, storage::delivery_state::queued, 0}});
            }
        }
        if (r.msg->is_retained()) {
            if (r.msg->payload().empty()) {
                ops.push_back(storage::delete_retained{std::string{topic}});  // [MQTT-3.3.1-10]
            } else {
                ops.push_back(storage::put_retained{stored_form(*r.msg, 0)});
            }
        }
        if (r.inbound_id != 0) ops.push_back(storage::put_inbound_id{e.slot->client_id, r.inbound_id});
        // QoS 0 confirms nothing, so nothing waits for it.
        submit(std::move(ops), r.msg->qos_level() == protocol::qos::at_most_once ? nullptr : &e);
    }
    if (r.ack) emit(e, send_packet{std::move(*r.ack)});  // acknowledged, then forwarded
    if (e.gate > done_ticket_) {
        held_.push_back({e.gate, routed{r.msg, std::move(targets)}});
        return;
    }
    deliver_all(r.msg, targets);
    targets_ = std::move(targets);
}

// A retained message sent on subscribe to a persistent session at QoS 1/2 was stored by topic only; the
// session's queue needs its own stored copy, so that it survives a restart until delivered.
void shard::store_retained_copy(entry& e, message_ptr& msg, protocol::qos granted) {
    if (options_.storage == storage_mode::off || !e.state->is_stored()) return;
    const auto q = std::min(msg->qos_level(), granted);
    if (q == protocol::qos::at_most_once) return;
    msg = store_copy(*msg, e.slot->client_id, q, true);
}

// A copy of msg with a stored body of its own, queued for one session (its only reference).
message_ptr shard::store_copy(const message& msg, const std::string& client_id, protocol::qos q, bool retain) {
    auto copy = make_message(msg.topic(), msg.payload(), msg.qos_level(), retain);
    copy->set_storage_id(options_.message_ids->fetch_add(1, std::memory_order_relaxed));
    std::vector<storage::operation> ops;
    ops.push_back(storage::put_message{stored_form(*copy, copy->storage_id()), 1});
    ops.push_back(storage::put_queue_entry{
        client_id, {copy->storage_id(), static_cast<std::uint8_t>(q), retain, storage::delivery_state::queued, 0}});
    submit(std::move(ops), nullptr);
    return copy;
}

// A message a group member took and cannot finish (its session ended, or it was gone when the message came)
// goes to another member of the group. A persistent member gets a stored copy of its own: the first member's
// stored entry goes with its session.
void shard::redispatch(const message_ptr& msg, const share_ref& share, std::uint8_t redispatches) {
    constexpr std::uint8_t max_redispatches = 16;
    subscriber target;
    if (redispatches >= max_redispatches || !router_.pick_shared(share, {}, target)) {
        ++stats_.shared_undeliverable;
        log_line{level::warning} << "event=shared_message_undeliverable share=" << quoted{*share}
                                 << " topic=" << quoted{msg->topic()} << " redispatches=" << int{redispatches};
        return;
    }
    ++stats_.shared_redispatched;
    auto m = msg;
    const auto q = std::min(msg->qos_level(), target.granted);
    if (options_.storage != storage_mode::off && target.persistent && q != protocol::qos::at_most_once)
        m = store_copy(*msg, target.session->client_id, q, false);
    const auto owner = target.session->owner();
    delivery d{std::move(target.session), target.epoch, std::move(m), target.granted, std::move(target.share),
               static_cast<std::uint8_t>(redispatches + 1)};
    if (owner == index_) {
        deliver(std::move(d));
    } else {
        send(owner, std::move(d));
    }
}

void shard::stored(std::uint64_t ticket, bool ok, time_point now) {
    begin(now);
    release(ticket, ok);
    // Sessions that could not leave while their outputs waited.
    for (auto it = moves_waiting_.begin(); it != moves_waiting_.end();) {
        auto* e = find(it->get());
        if (e == nullptr || !e->move) {
            it = moves_waiting_.erase(it);
        } else if (may_leave(*e)) {
            it = moves_waiting_.erase(it);
            finish_move(*e);
        } else {
            ++it;
        }
    }
}

void shard::release(std::uint64_t ticket, bool ok) {
    done_ticket_ = std::max(done_ticket_, ticket);
    if (!ok) {
        ++stats_.storage_failures;
        log_line{level::error} << "event=storage_failed shard=" << index_ << " ticket=" << ticket
                               << " detail=\"not acknowledged: the clients concerned are disconnected and will resend\"";
    }
    std::vector<connection_id> unanswered;
    while (!held_.empty() && held_.front().gate <= done_ticket_) {
        auto held = std::move(held_.front());
        held_.pop_front();
        if (auto* action = std::get_if<connection_action>(&held.what)) {
            // What a failed write would have confirmed is not sent: the connection closes instead, so the
            // client resends (a persistent session resumes, its unacknowledged messages with it).
            if (!ok && held.gate == ticket) {
                unanswered.push_back(action->conn);
            } else {
                out_.actions.push_back(std::move(*action));
            }
        } else if (auto* r = std::get_if<routed>(&held.what)) {
            if (ok || held.gate != ticket) deliver_all(r->msg, r->targets);
        }
    }
    std::sort(unanswered.begin(), unanswered.end());
    unanswered.erase(std::unique(unanswered.begin(), unanswered.end()), unanswered.end());
    for (const auto conn : unanswered)
        if (const auto it = attached_.find(conn); it != attached_.end())
            session_ended(*it->second, close_reason::storage_failed, nullptr, true);
}

void shard::restore(const storage::recovered_session& stored, const std::unordered_map<std::uint64_t, message_ptr>& messages,
                    time_point now) {
    begin(now);
    auto [slot, is_new] = registry_.acquire(stored.client_id, index_);
    if (!is_new) return unforeseen("a stored session restored twice", *slot);
    auto& e = install(slot, slot->next_epoch(), std::make_unique<session>(slot->client_id, options_.session));
    std::vector<session::restored_entry> queue;
    queue.reserve(stored.queue.size());
    for (const auto& q : stored.queue) {
        const auto it = messages.find(q.message_id);
        queue.push_back({it == messages.end() ? nullptr : it->second, q});
    }
    const effects_stack::lease fx{effects_};
    e.state->restore(stored.subscriptions, std::move(queue), stored.inbound_ids, *fx);
    apply(e, *fx);
    for (const auto& s : stored.subscriptions)
        router_.subscribe(subscriber{e.slot, e.epoch, static_cast<protocol::qos>(s.qos), true}, s.filter);
    went_offline(e);
}

}  // namespace mqttd::core
