#pragma once
// A deterministic stand-in for the worker threads: N shards, a FIFO channel for every ordered pair of them,
// and fake connections that record what the shards tell them. Nothing runs until the test says so: a
// step delivers the head of one channel (chosen by the test, or at random from a seeded generator), or
// feeds a client's input to its shard. So every interleaving the threads could produce can be replayed
// exactly, and invariants checked between any two steps.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "broker/core/client_registry.hpp"
#include "broker/core/router.hpp"
#include "broker/core/shard.hpp"

namespace mqttd::test {

struct fake_client {
    fake_client(core::shard_index s, std::string id) : shard{s}, client_id{std::move(id)} {}

    core::shard_index shard;
    std::string client_id;
    bool is_open = true;
    bool is_attached = false;
    bool was_refused = false;
    bool session_present = false;
    std::vector<core::connection_output> received;  // in the order the shard emitted them
};

class shard_scheduler {
public:
    explicit shard_scheduler(std::size_t shard_count, core::shard_options options = {{1000, 1'000'000, 0}, {}})
        : channels_(shard_count) {
        for (auto& row : channels_) row.resize(shard_count);
        if (options.message_ids == nullptr) options.message_ids = &message_ids_;
        for (std::size_t i = 0; i < shard_count; ++i)
            shards_.push_back(std::make_unique<core::shard>(static_cast<core::shard_index>(i), shard_count, routes,
                                                            registry, options));
    }

    std::size_t size() const noexcept { return shards_.size(); }
    core::shard& at(std::size_t i) { return *shards_[i]; }
    const core::shard& at(std::size_t i) const { return *shards_[i]; }
    fake_client& client(core::connection_id c) { return clients_.at(c); }
    const std::map<core::connection_id, fake_client>& clients() const noexcept { return clients_; }

    // ---- client inputs, run on the client's shard at once

    core::connection_id connect(std::size_t shard, core::connection_params params) {
        const auto id = ++next_id_;
        clients_.try_emplace(id, static_cast<core::shard_index>(shard), params.client_id);
        at(shard).connect(id, std::move(params), now_);
        collect(shard);
        return id;
    }

    void send(core::connection_id c, const protocol::packet& p) {
        auto& fc = client(c);
        if (!fc.is_open) return;
        at(fc.shard).packet(c, p, now_);
        collect(fc.shard);
    }

    // The broker publishes a message of its own ($SYS) on this shard.
    void publish_system(std::size_t shard, const core::message_ptr& msg) {
        at(shard).publish_system(msg, now_);
        collect(shard);
    }

    // The network connection drops (no DISCONNECT).
    void drop(core::connection_id c) {
        auto& fc = client(c);
        if (!fc.is_open) return;
        fc.is_open = false;
        at(fc.shard).connection_lost(c, core::close_reason::network_error, now_);
        collect(fc.shard);
    }

    // The connection's unsent bytes crossed max_outbound_bytes.
    // The admin API's actions (shard_admin.cpp), on the shard that owns the session, with its output carried.
    core::kick_result kick(std::size_t shard, const std::string& client_id, bool discard_session) {
        const auto result = at(shard).kick(client_id, discard_session, now_);
        collect(shard);
        return result;
    }
    std::size_t delete_retained(std::size_t shard, const std::string& filter) {
        const auto removed = at(shard).delete_retained(filter, now_);
        collect(shard);
        return removed;
    }

    void set_write_blocked(core::connection_id c, bool is_blocked) {
        auto& fc = client(c);
        if (!fc.is_open) return;
        at(fc.shard).write_blocked(c, is_blocked, now_);
        collect(fc.shard);
    }

    // Lets time pass, then runs every shard's session expiry.
    void advance(std::chrono::milliseconds by) {
        now_ += by;
        for (std::size_t i = 0; i < size(); ++i) {
            at(i).expire(now_);
            collect(i);
        }
    }

    // ---- cross-shard messages

    bool has_message(std::size_t from, std::size_t to) const { return !channels_[from][to].empty(); }
    std::size_t in_flight() const {
        std::size_t n = 0;
        for (const auto& row : channels_)
            for (const auto& ch : row) n += ch.size();
        return n;
    }

    // Delivers the head of channel from -> to.
    void deliver(std::size_t from, std::size_t to) {
        auto m = std::move(channels_[from][to].front());
        channels_[from][to].pop_front();
        at(to).receive(std::move(m), now_);
        collect(to);
    }

    // Delivers the head of a channel picked at random, or completes the oldest storage request (the commit
    // queue is one FIFO for all shards); false when nothing is pending.
    bool deliver_random(std::mt19937& rng) {
        std::vector<std::pair<std::size_t, std::size_t>> ready;
        for (std::size_t f = 0; f < size(); ++f)
            for (std::size_t t = 0; t < size(); ++t)
                if (has_message(f, t)) ready.emplace_back(f, t);
        const auto choices = ready.size() + (storage_.empty() ? 0 : 1);
        if (choices == 0) return false;
        const auto pick = std::uniform_int_distribution<std::size_t>{0, choices - 1}(rng);
        if (pick == ready.size()) return complete_storage();
        deliver(ready[pick].first, ready[pick].second);
        return true;
    }

    // ---- storage: requests wait in one FIFO, like the commit queue, until the test completes them

    struct stored_request {
        std::size_t shard;
        core::storage_request request;
    };
    std::size_t pending_storage() const noexcept { return storage_.size(); }
    const std::deque<stored_request>& storage_queue() const noexcept { return storage_; }
    // Every request completed so far, in order (what an engine would have applied).
    const std::vector<stored_request>& applied() const noexcept { return applied_; }

    bool complete_storage(bool ok = true) {
        if (storage_.empty()) return false;
        auto r = std::move(storage_.front());
        storage_.pop_front();
        if (ok) applied_.push_back(r);
        if (r.request.ticket != 0) {
            at(r.shard).stored(r.request.ticket, ok, now_);
            collect(r.shard);
        }
        return true;
    }

    // Channels and storage both.
    void run_until_quiet(std::mt19937& rng) {
        while (deliver_random(rng)) {}
    }

    // Calls f(message) for every message still in a channel.
    template <class F>
    void for_each_in_flight(F f) const {
        for (const auto& row : channels_)
            for (const auto& ch : row)
                for (const auto& m : ch) f(m);
    }

    core::router routes;
    core::client_registry registry;

private:
    // Carries shard i's output: actions to the fake clients, messages into the channels.
    void collect(std::size_t i) {
        auto& out = at(i).out();
        for (auto& a : out.actions) {
            auto& fc = client(a.conn);
            if (!fc.is_open) continue;  // the real connection is gone too; its actions go nowhere
            if (const auto* attached = std::get_if<core::connection_attached>(&a.what)) {
                fc.is_attached = true;
                fc.session_present = attached->session_present;
            } else if (std::holds_alternative<core::close_connection>(a.what)) {
                fc.is_open = false;
            } else if (std::holds_alternative<core::connection_refused>(a.what)) {
                fc.is_open = false;
                fc.was_refused = true;
            }
            fc.received.push_back(std::move(a.what));
        }
        out.actions.clear();
        for (std::size_t to = 0; to < out.outbox.size(); ++to) {
            for (auto& m : out.outbox[to]) channels_[i][to].push_back(std::move(m));
            out.outbox[to].clear();
        }
        for (auto& r : out.storage) storage_.push_back({i, std::move(r)});
        out.storage.clear();
    }

    std::vector<std::unique_ptr<core::shard>> shards_;
    std::vector<std::vector<std::deque<core::shard_message>>> channels_;  // [from][to]
    std::map<core::connection_id, fake_client> clients_;
    std::deque<stored_request> storage_;
    std::vector<stored_request> applied_;
    std::atomic<std::uint64_t> message_ids_{1};
    core::connection_id next_id_ = 0;
    core::time_point now_{std::chrono::seconds{1000}};
};

}  // namespace mqttd::test
