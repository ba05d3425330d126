#include "broker/net/durable_store.hpp"

#include <unordered_map>

#include "broker/logging/log.hpp"
#include "storage/memory_engine.hpp"
#include "storage/rocksdb_engine.hpp"

namespace mqttd::net {

using logging::level;
using logging::log_line;
using logging::quoted;

namespace {

void log_note(const storage::note& n) {
    const auto l = n.level == storage::note_level::error     ? level::error
                   : n.level == storage::note_level::warning ? level::warning
                                                             : level::info;
    log_line{l} << "event=storage_note detail=" << quoted{n.text};
}

core::message_ptr to_message(const storage::stored_message& m) {
    auto msg = core::make_message(m.topic, {reinterpret_cast<const std::uint8_t*>(m.payload.data()), m.payload.size()},
                                  static_cast<protocol::qos>(m.qos), m.retain);
    msg->set_storage_id(m.id);
    return msg;
}

}  // namespace

durable_store::durable_store(const persistence_options& options) : options_{options} {
    if (options_.enabled) {
        engine_ = storage::rocksdb_engine::open(options_.dir, {options_.on_corruption});
    } else {
        engine_ = std::make_unique<storage::memory_engine>();
    }
}

durable_store::~durable_store() { stop(); }

core::storage_mode durable_store::mode() const noexcept {
    return options_.enabled && options_.sync == storage::sync_mode::batch ? core::storage_mode::write_through
                                                                          : core::storage_mode::write_behind;
}

void durable_store::recover(core::router& routes, const std::vector<core::shard*>& shards) {
    const auto started = std::chrono::steady_clock::now();
    auto state = engine_->recover();
    for (const auto& n : engine_->take_notes()) log_note(n);
    message_ids_.store(state.next_message_id, std::memory_order_relaxed);

    std::vector<core::subscriber> no_targets;
    for (const auto& r : state.retained) routes.publish(to_message(r), no_targets);  // nobody subscribes yet
    std::unordered_map<std::uint64_t, core::message_ptr> messages;
    messages.reserve(state.messages.size());
    for (const auto& m : state.messages) messages.emplace(m.id, to_message(m));
    state.messages.clear();
    std::size_t entries = 0;
    const auto now = core::clock::now();
    for (std::size_t i = 0; i < state.sessions.size(); ++i) {
        entries += state.sessions[i].queue.size();
        shards[i % shards.size()]->restore(state.sessions[i], messages, now);
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    log_line{level::info} << "event=recovered store=" << (options_.enabled ? quoted{options_.dir.string()} : quoted{"memory"})
                          << " retained=" << state.retained.size() << " sessions=" << state.sessions.size()
                          << " queued=" << entries << " messages=" << messages.size() << " duration_ms=" << took.count();

    // The commit queue starts once recovery has read everything: nothing writes before.
    const auto sync = options_.enabled ? options_.sync : storage::sync_mode::none;
    commits_ = std::make_unique<storage::commit_queue>(*engine_, sync, options_.sync_interval, log_note);
}

void durable_store::stop() {
    if (commits_) commits_->stop();
}

}  // namespace mqttd::net
