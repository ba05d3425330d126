// The commit thread: submission order, group commit (fewer fsyncs than requests), failures that stay with
// their request, the three sync modes, and stop().

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine_fixtures.hpp"
#include "storage/commit_queue.hpp"
#include "storage/memory_engine.hpp"

using namespace mqttd::storage;
using namespace mqttd::storage::test;
using namespace std::chrono_literals;

namespace {

// Records what it is given. Each apply() sleeps a little, as an fsync would, so that requests pile up
// behind it, or waits for release() while the gate is closed; a batch holding put_inbound_id packet id
// 0xdead fails, as a storage_error would.
class recording_engine final : public engine {
public:
    struct write {
        std::vector<put_inbound_id> ops;
        bool sync;
    };

    recovered_state recover() override { return {}; }
    void apply(const std::vector<operation>& ops, bool sync) override {
        std::this_thread::sleep_for(apply_time);
        {
            std::unique_lock lock{mutex};
            ++entered;
            gate_changed.notify_all();
            gate_changed.wait(lock, [&] { return !is_gate_closed; });
        }
        std::vector<put_inbound_id> recorded;
        for (const auto& op : ops) {
            const auto& id = std::get<put_inbound_id>(op);
            if (id.packet_id == 0xdead) throw storage_error{"refused " + id.client_id};
            recorded.push_back(id);
        }
        const std::lock_guard lock{mutex};
        writes.push_back({std::move(recorded), sync});
    }
    void flush() override {
        const std::lock_guard lock{mutex};
        ++flushes;
        flushed_after_writes.push_back(writes.size());
    }

    // Blocks until the commit thread is inside apply() with the gate closed.
    void wait_inside() {
        std::unique_lock lock{mutex};
        gate_changed.wait(lock, [&] { return entered > 0; });
    }
    void release() {
        const std::lock_guard lock{mutex};
        is_gate_closed = false;
        gate_changed.notify_all();
    }

    std::chrono::milliseconds apply_time{1};
    std::mutex mutex;
    std::condition_variable gate_changed;
    bool is_gate_closed = false;
    int entered = 0;
    std::vector<write> writes;
    int flushes = 0;
    std::vector<std::size_t> flushed_after_writes;
};

std::vector<operation> inbound(const std::string& client, std::uint16_t id) {
    return {put_inbound_id{client, id}};
}

// Counts done() calls and waits for a number of them.
class completions {
public:
    std::function<void(bool)> callback() {
        return [this](bool ok) {
            const std::lock_guard lock{mutex_};
            ++(ok ? ok_ : failed_);
            changed_.notify_all();
        };
    }
    bool wait_for(int total) {
        std::unique_lock lock{mutex_};
        return changed_.wait_for(lock, 10s, [&] { return ok_ + failed_ >= total; });
    }
    int ok() {
        const std::lock_guard lock{mutex_};
        return ok_;
    }
    int failed() {
        const std::lock_guard lock{mutex_};
        return failed_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int ok_ = 0, failed_ = 0;
};

}  // namespace

TEST_CASE(
    "commit_queue: requests from many threads keep each thread's order, with fewer fsyncs than requests") {
    recording_engine store;
    completions done;
    constexpr int threads = 4, per_thread = 200;
    {
        commit_queue queue{store, sync_mode::batch, 100ms};
        std::vector<std::thread> submitters;
        for (int t = 0; t < threads; ++t)
            submitters.emplace_back([&, t] {
                for (int i = 1; i <= per_thread; ++i)
                    queue.submit(inbound("t" + std::to_string(t), static_cast<std::uint16_t>(i)),
                                 done.callback());
            });
        for (auto& s : submitters) s.join();
        REQUIRE(done.wait_for(threads * per_thread));
        const auto c = queue.counters();
        CHECK(c.requests == threads * per_thread);
        CHECK(c.operations == threads * per_thread);
        CHECK(c.failures == 0);
        CHECK(c.fsyncs == c.groups);
        CHECK(c.groups < threads * per_thread / 4);  // group commit: many requests per fsync
    }
    CHECK(done.ok() == threads * per_thread);
    std::map<std::string, int> last;
    std::size_t total = 0;
    for (const auto& w : store.writes) {
        CHECK(w.sync);
        for (const auto& op : w.ops) {
            CHECK(op.packet_id == last[op.client_id] + 1);
            last[op.client_id] = op.packet_id;
            ++total;
        }
    }
    CHECK(total == threads * per_thread);
}

TEST_CASE("commit_queue: done() comes after the request's write, on the commit thread") {
    recording_engine store;
    commit_queue queue{store, sync_mode::batch, 100ms};
    std::promise<std::pair<std::size_t, std::thread::id>> seen;
    queue.submit(inbound("c", 1), [&](bool ok) {
        CHECK(ok);
        const std::lock_guard lock{store.mutex};
        seen.set_value({store.writes.size(), std::this_thread::get_id()});
    });
    const auto [writes, thread] = seen.get_future().get();
    CHECK(writes == 1);
    CHECK(thread != std::this_thread::get_id());
}

TEST_CASE("commit_queue: a request that fails fails alone; its group's others are applied") {
    recording_engine store;
    store.is_gate_closed = true;
    completions done;
    std::vector<note> notes;
    std::mutex notes_mutex;
    commit_queue queue{store, sync_mode::batch, 100ms, [&](const note& n) {
                           const std::lock_guard lock{notes_mutex};
                           notes.push_back(n);
                       }};
    queue.submit(inbound("first", 1), done.callback());  // the commit thread waits in this one...
    store.wait_inside();
    bool bad_ok = true;
    queue.submit(inbound("a", 1), done.callback());  // ...while these three make one group
    queue.submit(inbound("bad", 0xdead), [&](bool ok) {
        bad_ok = ok;
        done.callback()(ok);
    });
    queue.submit(inbound("b", 1), done.callback());
    store.release();
    REQUIRE(done.wait_for(4));
    queue.stop();
    CHECK_FALSE(bad_ok);
    CHECK(done.ok() == 3);
    CHECK(queue.last_error() == "storage write failed: refused bad");
    const auto c = queue.counters();
    CHECK(c.requests == 4);
    CHECK(c.failures == 2);  // the group, then the request alone
    CHECK(c.groups == 3);    // "first", then "a" and "b" alone
    const std::lock_guard lock{notes_mutex};
    REQUIRE_FALSE(notes.empty());
    CHECK(notes.back().level == note_level::error);
    CHECK(notes.back().text == "storage write failed: refused bad");
}

TEST_CASE("commit_queue: periodic mode applies without sync and flushes every interval") {
    recording_engine store;
    completions done;
    commit_queue queue{store, sync_mode::periodic, 30ms};
    queue.submit(inbound("c", 1), done.callback());
    REQUIRE(done.wait_for(1));
    {
        const std::lock_guard lock{store.mutex};
        CHECK(store.flushes == 0);  // acknowledged before the flush
        REQUIRE(store.writes.size() == 1);
        CHECK_FALSE(store.writes[0].sync);
    }
    for (int i = 0; i < 200 && queue.counters().fsyncs == 0; ++i) std::this_thread::sleep_for(5ms);
    CHECK(queue.counters().fsyncs == 1);
    std::this_thread::sleep_for(100ms);
    CHECK(queue.counters().fsyncs == 1);  // nothing new written: nothing to flush
    queue.submit(inbound("c", 2), done.callback());
    REQUIRE(done.wait_for(2));
    queue.stop();
    const std::lock_guard lock{store.mutex};
    CHECK(store.flushes == 2);
}

TEST_CASE("commit_queue: batch mode fsyncs a group only when a request in it is waited for") {
    recording_engine store;
    store.is_gate_closed = true;
    completions done;
    commit_queue queue{store, sync_mode::batch, 100ms};
    queue.submit(inbound("c", 1), {});  // written alone while the gate holds the thread inside apply()
    store.wait_inside();
    queue.submit(inbound("c", 2), {});
    queue.submit(inbound("c", 3), {});  // 2 and 3: a group nobody waits for
    store.release();
    queue.wait_idle();
    queue.submit(inbound("c", 4), {});
    queue.submit(inbound("c", 5), done.callback());
    REQUIRE(done.wait_for(1));
    queue.wait_idle();
    {
        const std::lock_guard lock{store.mutex};
        REQUIRE(store.writes.size() >= 3);
        CHECK_FALSE(store.writes[0].sync);
        CHECK_FALSE(store.writes[1].sync);
        // 5 is fsynced before its done(), with 4 if they share a group; the fsync covers everything before.
        CHECK(store.writes.back().sync);
        CHECK(store.flushes == 0);
    }
    queue.submit(inbound("c", 6), {});
    queue.stop();  // what no fsync covered yet is flushed
    const std::lock_guard lock{store.mutex};
    CHECK(store.flushes == 1);
    CHECK(store.flushed_after_writes == std::vector<std::size_t>{store.writes.size()});
}

TEST_CASE("commit_queue: mode none never syncs until stop()") {
    recording_engine store;
    completions done;
    commit_queue queue{store, sync_mode::none, 1ms};
    for (std::uint16_t i = 1; i <= 5; ++i) queue.submit(inbound("c", i), done.callback());
    REQUIRE(done.wait_for(5));
    std::this_thread::sleep_for(20ms);
    CHECK(queue.counters().fsyncs == 0);
    queue.stop();
    CHECK(queue.counters().fsyncs == 1);
    const std::lock_guard lock{store.mutex};
    CHECK(store.flushed_after_writes == std::vector<std::size_t>{store.writes.size()});
}

TEST_CASE("commit_queue: stop() applies everything submitted, is idempotent, and refuses later requests") {
    recording_engine store;
    completions done;
    commit_queue queue{store, sync_mode::batch, 100ms};
    for (std::uint16_t i = 1; i <= 100; ++i) queue.submit(inbound("c", i), done.callback());
    queue.stop();
    CHECK(done.ok() == 100);
    queue.stop();
    bool called = false, result = true;
    queue.submit(inbound("c", 101), [&](bool ok) {
        called = true;
        result = ok;
    });
    CHECK(called);
    CHECK_FALSE(result);
    CHECK(queue.counters().requests == 100);
}

TEST_CASE("commit_queue: wait_idle() returns once the done() of every earlier request has returned") {
    recording_engine store;
    store.is_gate_closed = true;
    completions done;
    commit_queue queue{store, sync_mode::batch, 100ms};
    queue.submit(inbound("c", 1), done.callback());
    store.wait_inside();  // the first write is held; the next two pile up behind it
    queue.submit(inbound("c", 2), done.callback());
    queue.submit(inbound("c", 3), done.callback());
    auto idle = std::async(std::launch::async, [&] { queue.wait_idle(); });
    CHECK(idle.wait_for(50ms) == std::future_status::timeout);
    store.release();
    idle.get();
    CHECK(done.ok() == 3);  // no wait: wait_idle() returned after the callbacks, not merely after the writes
    queue.wait_idle();      // nothing pending: returns at once
    queue.stop();
    queue.wait_idle();  // and after stop()
}

TEST_CASE("commit_queue: stop() from a done callback refuses later requests, and the destructor joins") {
    recording_engine store;
    completions done;
    {
        commit_queue queue{store, sync_mode::batch, 100ms};
        queue.submit(inbound("c", 1), [&](bool ok) {
            queue.stop();
            done.callback()(ok);
        });
        REQUIRE(done.wait_for(1));
        queue.submit(inbound("c", 2), done.callback());
        CHECK(done.failed() == 1);
    }
    CHECK(done.ok() == 1);
}

TEST_CASE("commit_queue: with a real engine, what was acknowledged is what recover() reads") {
    memory_engine store;
    completions done;
    {
        commit_queue queue{store, sync_mode::batch, 100ms};
        queue.submit({make_session("c")}, done.callback());
        queue.submit({put_message{make_message(1, "t", "p"), 1}, put_queue_entry{"c", make_entry(1)}},
                     done.callback());
        queue.submit({put_message{make_message(0, "t", "p"), 1}}, done.callback());  // id 0: refused
        queue.submit({put_inbound_id{"c", 7}}, done.callback());
    }
    CHECK(done.ok() == 3);
    CHECK(done.failed() == 1);
    CHECK(describe(store.recover()) ==
          "next_message_id 2\n"
          "message 1 \"t\" qos 1 retain 0 payload \"p\"\n"
          "session \"c\"\n"
          "  entry 1 qos 1 retain 0 state 0 packet 0\n"
          "  inbound 7\n");
}
