// Takeover and the migration of sessions between shards: the protocol described in shard.hpp.

#include "broker/core/shard.hpp"

#include "broker/logging/log.hpp"

namespace mqttd::core {

namespace {

// A connect_request follows the slot's owner and is forwarded only when it reaches a shard the session has
// already left; more than a handful of hops means something nobody foresaw.
constexpr std::uint8_t max_connect_hops = 16;

}  // namespace

void shard::park(const session_slot* slot, shard_message m) { parked_[slot].push_back(std::move(m)); }

void shard::dispatch_connect(connect_request req, time_point now) {
    if (auto* e = find(req.slot.get())) {
        if (!e->move) return take_over(*e, std::move(req), now);
        // The session is about to leave: the CONNECT travels with it and is served where it lands, so a
        // crowd of CONNECTs racing for one session is not forwarded once per takeover ahead of it.
        e->move->carried.push_back(std::move(req));
        return;
    }
    const auto where = req.slot->location();
    if (where.shard != index_ && where.state != slot_state::gone) {
        // Owned elsewhere, or leaving this shard: the CONNECT follows the session.
        if (++req.hops > max_connect_hops) return refuse(std::move(req), "CONNECT forwarded too often");
        send(where.shard, std::move(req));
        return;
    }
    if (where.state == slot_state::moving) {
        const auto* slot = req.slot.get();
        park(slot, std::move(req));  // the session is on its way here
        return;
    }
    // pending_connects keeps a slot registered while a CONNECT for it travels, so neither can happen.
    refuse(std::move(req), where.state == slot_state::gone ? "session gone while a CONNECT for it was pending"
                                                           : "session missing on the shard that owns it");
}

void shard::take_over(entry& e, connect_request req, time_point now) {
    req.slot->pending_connects.fetch_sub(1, std::memory_order_acq_rel);
    if (e.conn > req.conn) {
        // The connection holding the session was accepted after this one: a client that reconnected at once
        // (its old CONNECT was still on its way) or the second of two devices. The newer connection keeps
        // the session; the older CONNECT loses, as if it had been served first and taken over at once.
        ++stats_.superseded;
        return answer(req, true);
    }
    ++stats_.takeovers;
    const bool was_clean = e.state->is_clean();
    const bool resume = !was_clean && !req.clean_session;
    if (e.conn != 0) {
        // [MQTT-3.1.4-2] the connection that holds the session is closed. Its will goes out unless the
        // session is resumed (clean session 0 on both sides): then the device is still there.
        if (resume) e.state->clear_will();
        end_connection(e, close_reason::session_taken_over, nullptr, true);
    }
    if (!resume) renew(e);  // [MQTT-3.1.2-6]
    if (req.from == index_) {
        attach_waiting(e, req.conn, resume, now);
    } else {
        start_move(e, req.from, req.conn, resume);
    }
}

// Gives the session to the connection that asked for it, if that connection is still there.
void shard::attach_waiting(entry& e, connection_id conn, bool session_present, time_point now) {
    const auto it = waiting_.find(conn);
    if (it == waiting_.end()) {
        // The client went away while its session was on the way: it stays offline, or ends if clean.
        if (e.state->is_clean()) {
            discard(e);
        } else {
            went_offline(e);
        }
        return;
    }
    auto params = std::move(it->second);
    waiting_.erase(it);
    attach(e, conn, std::move(params), session_present, now);
}

void shard::start_move(entry& e, shard_index to, connection_id conn, bool session_present) {
    ++stats_.moves;
    // Only a resumed session can have messages on their way to it here; a renewed one starts empty and
    // anything routed to its predecessor misses on epoch.
    const std::size_t flushes = session_present ? shard_count_ - 1 : 0;
    e.move = std::make_unique<outgoing_move>(outgoing_move{to, conn, session_present, ++next_move_id_, flushes, {}});
    e.slot->set_location({slot_state::moving, to});
    if (flushes == 0) {
        if (may_leave(e) || !session_present) {
            finish_move(e);
        } else {
            moves_waiting_.push_back(e.slot);
        }
        return;
    }
    for (shard_index k = 0; k < shard_count_; ++k)
        if (k != index_) send(k, flush_request{e.slot, index_, e.move->id});
}

void shard::flush_finished(const flush_done& f) {
    auto* e = find(f.slot.get());
    if (e == nullptr || !e->move || e->move->id != f.move_id || e->move->flushes_pending == 0)
        return unforeseen("flush_done for a move that is not under way", *f.slot);
    if (--e->move->flushes_pending != 0) return;
    // Its own PUBACKs and deliveries waiting for storage go first, or a publisher's message stored before
    // the move could be delivered after one it sends from its new shard [MQTT-4.6.0-6].
    if (may_leave(*e)) {
        finish_move(*e);
    } else {
        moves_waiting_.push_back(e->slot);
    }
}

void shard::finish_move(entry& e) {
    auto& move = *e.move;
    const auto to = move.to;
    session_transfer t{e.slot, e.epoch, std::move(e.state), move.conn, move.session_present, std::move(move.carried)};
    sessions_.erase(e.slot.get());  // destroys e
    send(to, std::move(t));
}

void shard::arrive(session_transfer t, time_point now) {
    auto slot = t.slot;
    auto& e = install(slot, t.epoch, std::move(t.state));  // gate 0: tickets are this shard's own
    slot->set_location({slot_state::live, index_});
    attach_waiting(e, t.conn, t.session_present, now);  // may discard e
    // Then the CONNECTs that travelled with the session, and what waited here for it, each in arrival
    // order. These are deliveries and CONNECTs only, so serving them never parks or replays again for
    // this slot: the session is installed (or, discarded, its slot is gone or renewed here).
    for (auto& req : t.waiting) dispatch_connect(std::move(req), now);
    const auto it = parked_.find(slot.get());
    if (it == parked_.end()) return;
    auto parked = std::move(it->second);
    parked_.erase(it);
    for (auto& m : parked) receive(std::move(m), now);
}

void shard::refuse(connect_request req, const char* why) {
    req.slot->pending_connects.fetch_sub(1, std::memory_order_acq_rel);
    unforeseen(why, *req.slot);
    answer(req, false);
}

void shard::answer(const connect_request& req, bool superseded) {
    if (req.from == index_) {
        refused(connect_refused{req.conn, superseded});
    } else {
        send(req.from, connect_refused{req.conn, superseded});
    }
}

void shard::refused(const connect_refused& r) {
    if (waiting_.erase(r.conn) == 0) return;  // the connection is gone already
    if (r.superseded) {
        out_.actions.push_back({r.conn, close_connection{close_reason::session_taken_over, nullptr}});
    } else {
        // [MQTT-3.2.2-6] nothing fits the state we are in: the server is unavailable for this CONNECT.
        out_.actions.push_back({r.conn, connection_refused{protocol::connack_code::server_unavailable}});
    }
}

}  // namespace mqttd::core
