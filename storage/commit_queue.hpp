#pragma once
// Applies the broker's storage requests on a thread of its own, in submission order, with group commit:
// while one write is in progress, every request submitted meanwhile is written together in the next one, so
// one fsync covers many requests from many workers. Owns that thread; submit() and the counters are for any
// thread. The engine is used only by the commit thread (recover() must have been called before).
//
// sync_mode::batch     each group is fsynced before its requests' done(true): acknowledged means durable. A
//                      group of requests without done is written unsynced; the next fsync covers it.
// sync_mode::periodic  done(true) once applied; the log is fsynced every sync_interval. A power cut may lose
//                      up to that much acknowledged work; a crash of the process alone loses nothing, the
//                      log being written (not synced) by every apply().
// sync_mode::none      never fsynced until stop(): the operating system writes back when it likes.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"

namespace mqttd::storage {

enum class sync_mode { batch, periodic, none };

struct commit_counters {
    std::uint64_t requests = 0;    // requests completed (done called), failed ones included
    std::uint64_t groups = 0;      // engine writes (apply calls) that succeeded
    std::uint64_t operations = 0;  // operations in those writes
    std::uint64_t fsyncs = 0;      // synced writes plus flushes
    std::uint64_t failures = 0;    // failed engine writes and flushes
};

class commit_queue {
public:
    // Called on the commit thread for every failure and for the engine's notes (what it took from
    // engine::take_notes() after each group), for the broker to log. Must not throw.
    using note_handler = std::function<void(const note&)>;

    commit_queue(engine& store, sync_mode mode, std::chrono::milliseconds sync_interval,
                 note_handler on_note = {});
    ~commit_queue();
    commit_queue(const commit_queue&) = delete;
    commit_queue& operator=(const commit_queue&) = delete;

    // Warning: callable from any thread. done(ok) is called on the commit thread once the request is applied
    // (and, in batch mode, durable): ok false when the engine refused it (storage_error; last_error() says
    // why). A request is atomic whatever it is grouped with: when a group fails, its requests are applied
    // again one by one, so only the ones that fail on their own get done(false). done must not throw. After
    // stop(), done(false) is called at once, on the caller's thread.
    void submit(std::vector<operation> ops, std::function<void(bool ok)> done);

    // Applies everything submitted so far, flushes, and joins the thread. Idempotent; the destructor calls
    // it. Warning: callable from any thread. From a done callback it only refuses later requests (a thread
    // cannot join itself); the destructor must then still run, on another thread.
    void stop();

    // Returns once every request submitted before the call has had its done() called (and so whatever
    // done() did, such as posting the completion to a worker, has happened). The broker's shutdown uses it to
    // know that no completion is still on its way. Warning: callable from any thread but the commit thread
    // (from a done callback it would wait for itself).
    void wait_idle();

    // Warning: both are callable from any thread.
    commit_counters counters() const noexcept;
    std::string last_error() const;

private:
    struct request {
        std::vector<operation> ops;
        std::function<void(bool)> done;
    };

    void run();
    void write_group(std::vector<request>& group);
    bool try_apply(const std::vector<operation>& ops, bool sync);
    void flush_now();
    void report(note n);

    engine& store_;
    const sync_mode mode_;
    const std::chrono::milliseconds sync_interval_;
    const note_handler on_note_;

    mutable std::mutex mutex_;  // guards the members up to thread_
    std::condition_variable wake_;
    std::condition_variable idle_;  // signalled whenever finished_ grows
    std::vector<request> pending_;
    std::uint64_t submitted_ = 0;  // requests taken by submit() (not the ones refused after stop())
    std::uint64_t finished_ = 0;   // of those, the ones whose done() has returned
    bool is_stopping_ = false;
    std::string last_error_;

    std::mutex stop_mutex_;  // one stop() joins; the others wait for it
    std::thread thread_;
    std::thread::id thread_id_;  // thread_'s, set once by the constructor: stop() reads it unlocked

    std::atomic<std::uint64_t> requests_{0}, groups_{0}, operations_{0}, fsyncs_{0}, failures_{0};
    bool has_unsynced_ = false;  // commit thread only
};

}  // namespace mqttd::storage
