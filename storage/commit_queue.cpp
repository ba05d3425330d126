#include "storage/commit_queue.hpp"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <utility>

namespace mqttd::storage {

commit_queue::commit_queue(engine& store, sync_mode mode, std::chrono::milliseconds sync_interval,
                           note_handler on_note)
    : store_{store}, mode_{mode}, sync_interval_{sync_interval}, on_note_{std::move(on_note)} {
    thread_ = std::thread{[this] { run(); }};
    thread_id_ = thread_.get_id();
}

commit_queue::~commit_queue() { stop(); }

void commit_queue::submit(std::vector<operation> ops, std::function<void(bool ok)> done) {
    std::unique_lock lock{mutex_};
    if (is_stopping_) {
        lock.unlock();
        if (done) done(false);
        return;
    }
    const bool was_idle = pending_.empty();
    pending_.push_back({std::move(ops), std::move(done)});
    ++submitted_;
    lock.unlock();
    // The commit thread only sleeps with nothing pending; while it writes, it takes the rest when it is done.
    if (was_idle) wake_.notify_one();
}

void commit_queue::stop() {
    {
        const std::lock_guard lock{mutex_};
        is_stopping_ = true;
    }
    wake_.notify_one();
    // From a done callback the thread cannot join itself: it stops once it has drained the queue.
    if (std::this_thread::get_id() == thread_id_) return;
    const std::lock_guard stopping{stop_mutex_};
    if (thread_.joinable()) thread_.join();
}

void commit_queue::wait_idle() {
    std::unique_lock lock{mutex_};
    const auto target = submitted_;
    // The commit thread takes everything pending before it stops, so finished_ gets there either way.
    idle_.wait(lock, [&] { return finished_ >= target; });
}

commit_counters commit_queue::counters() const noexcept {
    return {requests_.load(std::memory_order_relaxed), groups_.load(std::memory_order_relaxed),
            operations_.load(std::memory_order_relaxed), fsyncs_.load(std::memory_order_relaxed),
            failures_.load(std::memory_order_relaxed)};
}

std::string commit_queue::last_error() const {
    const std::lock_guard lock{mutex_};
    return last_error_;
}

void commit_queue::run() {
    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point>
        flush_due;  // periodic mode: when the oldest unsynced write must be synced
    std::vector<request> group;
    std::unique_lock lock{mutex_};
    while (true) {
        const auto has_work = [this] { return !pending_.empty() || is_stopping_; };
        if (flush_due)
            wake_.wait_until(lock, *flush_due, has_work);
        else
            wake_.wait(lock, has_work);
        if (flush_due && clock::now() >= *flush_due) {
            lock.unlock();
            flush_now();
            flush_due.reset();
            lock.lock();
        }
        if (pending_.empty()) {
            if (is_stopping_) break;
            continue;
        }
        group.swap(pending_);
        lock.unlock();
        write_group(group);
        const auto finished = group.size();
        group.clear();
        if (mode_ == sync_mode::periodic && has_unsynced_ && !flush_due)
            flush_due = clock::now() + sync_interval_;
        lock.lock();
        finished_ += finished;
        idle_.notify_all();
    }
    lock.unlock();
    if (has_unsynced_) flush_now();
}

void commit_queue::write_group(std::vector<request>& group) {
    // A group nobody waits for (the deletes that follow acknowledgements) is written but not fsynced: the next
    // fsync covers it (the log is written in order), and until then a crash of the process alone loses
    // nothing. Only a power cut can undo such a delete, which brings a message back to be sent again.
    // Skipping its fsync keeps the next group of publishes from queueing behind it.
    const bool sync = mode_ == sync_mode::batch &&
                      std::ranges::any_of(group, [](const request& r) { return static_cast<bool>(r.done); });
    const auto finish = [this](request& r, bool ok) {
        requests_.fetch_add(1, std::memory_order_relaxed);
        if (!r.done) return;
        try {
            r.done(ok);
        } catch (const std::exception& e) {
            report({note_level::error, std::string{"a storage callback threw: "} + e.what()});
        } catch (...) {
            report({note_level::error, "a storage callback threw"});
        }
    };

    bool ok = false;
    if (group.size() == 1) {
        ok = try_apply(group.front().ops, sync);
    } else {
        // One write for the whole group. The operations are moved, not copied (payloads can be large), and
        // moved back should the group fail.
        std::vector<operation> all;
        std::size_t total = 0;
        for (const auto& r : group) total += r.ops.size();
        all.reserve(total);
        for (auto& r : group) std::move(r.ops.begin(), r.ops.end(), std::back_inserter(all));
        ok = try_apply(all, sync);
        if (!ok) {
            auto from = all.begin();
            for (auto& r : group) {
                std::move(from, from + static_cast<std::ptrdiff_t>(r.ops.size()), r.ops.begin());
                from += static_cast<std::ptrdiff_t>(r.ops.size());
            }
        }
    }
    if (ok) {
        for (auto& r : group) finish(r, true);
    } else if (group.size() == 1) {
        finish(group.front(), false);
    } else {
        // Alone, each request succeeds or fails on its own: a bad request must not fail its neighbours'.
        for (auto& r : group) finish(r, try_apply(r.ops, sync));
    }
    for (auto& n : store_.take_notes()) report(std::move(n));
}

bool commit_queue::try_apply(const std::vector<operation>& ops, bool sync) {
    try {
        store_.apply(ops, sync);
    } catch (const std::exception& e) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        report({note_level::error, std::string{"storage write failed: "} + e.what()});
        return false;
    }
    groups_.fetch_add(1, std::memory_order_relaxed);
    operations_.fetch_add(ops.size(), std::memory_order_relaxed);
    if (sync) {
        fsyncs_.fetch_add(1, std::memory_order_relaxed);
        has_unsynced_ = false;  // the log is synced up to here, earlier unsynced writes included
    } else {
        has_unsynced_ = true;
    }
    return true;
}

void commit_queue::flush_now() {
    try {
        store_.flush();
        fsyncs_.fetch_add(1, std::memory_order_relaxed);
        has_unsynced_ = false;
    } catch (const std::exception& e) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        report({note_level::error, std::string{"storage flush failed: "} + e.what()});
    }
}

void commit_queue::report(note n) {
    if (n.level == note_level::error) {
        const std::lock_guard lock{mutex_};
        last_error_ = n.text;
    }
    if (on_note_) on_note_(n);
}

}  // namespace mqttd::storage
