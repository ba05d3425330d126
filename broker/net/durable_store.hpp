#pragma once
// The broker's storage (README: "Durable storage"): the engine (RocksDB under persistence.dir, or memory when
// persistence is off), the commit queue that writes what the shards ask for, and the start-up recovery that
// puts retained messages and persistent sessions back before any listener accepts.
// Warning: submit() is called from every worker; the rest from the main thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "broker/core/router.hpp"
#include "broker/core/shard.hpp"
#include "broker/net/server_options.hpp"
#include "storage/commit_queue.hpp"
#include "storage/store.hpp"

namespace mqttd::net {

class durable_store {
public:
    // Opens the engine; throws storage::storage_error with a message naming the directory and the reason.
    explicit durable_store(const persistence_options& options);
    ~durable_store();

    // What the shards are told: write-through when acknowledgements wait for fsync (sync batch).
    core::storage_mode mode() const noexcept;
    std::atomic<std::uint64_t>& message_ids() noexcept { return message_ids_; }

    // Reads everything back and restores it: retained messages into the router, sessions round-robin into the
    // shards (before their threads start). Logs what it found and how long it took.
    void recover(core::router& routes, const std::vector<core::shard*>& shards);

    // Warning: any thread. `done` runs on the commit thread.
    void submit(std::vector<storage::operation> ops, std::function<void(bool)> done) {
        commits_->submit(std::move(ops), std::move(done));
    }
    // Warning: any thread but the commit thread. Returns once every earlier submission's `done` has returned.
    void wait_idle() { commits_->wait_idle(); }
    // Drains what was submitted, makes it durable, and stops the commit thread (a clean shutdown loses nothing).
    void stop();
    storage::commit_counters counters() const noexcept { return commits_->counters(); }

private:
    persistence_options options_;
    std::unique_ptr<storage::engine> engine_;
    std::unique_ptr<storage::commit_queue> commits_;
    std::atomic<std::uint64_t> message_ids_{1};
};

}  // namespace mqttd::net
