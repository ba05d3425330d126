// How fast the RocksDB engine stores on this machine's disk: apply() with sync=true for batches of 1, 10
// and 100 messages (each a put_message and one queue entry), the same without sync, the raw fdatasync
// latency of a file in the same directory, and commit_queue's group commit with several submitting threads.
//
//   storage_write_bench DIR [seconds per case, default 3]
// DIR must not exist (it is created, and removed at the end).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "storage/commit_queue.hpp"
#include "storage/rocksdb_engine.hpp"

using namespace mqttd::storage;
using clock_type = std::chrono::steady_clock;

namespace {

std::uint64_t next_id = 1;

std::vector<operation> messages(std::size_t n) {
    std::vector<operation> ops;
    for (std::size_t i = 0; i < n; ++i) {
        const auto id = next_id++;
        ops.push_back(put_message{
            {id, "sensors/bench/" + std::to_string(id % 1000), std::string(64, 'p'), 1, false}, 1});
        ops.push_back(put_queue_entry{"bench-client", {id, 1, false, delivery_state::queued, 0}});
    }
    return ops;
}

struct latencies {
    std::vector<double> us;
    double percentile(double p) {
        std::sort(us.begin(), us.end());
        return us.empty() ? 0
                          : us[std::min(us.size() - 1,
                                        static_cast<std::size_t>(p * static_cast<double>(us.size())))];
    }
};

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void apply_case(engine& store, std::size_t batch, bool sync, double seconds) {
    latencies lat;
    std::size_t batches = 0;
    const auto start = clock_type::now();
    while (seconds_since(start) < seconds) {
        const auto ops = messages(batch);
        const auto t0 = clock_type::now();
        store.apply(ops, sync);
        lat.us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        ++batches;
    }
    const auto elapsed = seconds_since(start);
    std::printf(
        "apply sync=%d batch=%3zu messages (%3zu ops): %8.0f batches/s %9.0f messages/s  "
        "latency p50 %7.0f us p99 %7.0f us\n",
        sync, batch, batch * 2, static_cast<double>(batches) / elapsed,
        static_cast<double>(batches * batch) / elapsed, lat.percentile(0.5), lat.percentile(0.99));
}

void fdatasync_case(const std::filesystem::path& dir, double seconds) {
    const auto file = dir / "fsync-probe";
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    const std::string record(100, 'x');
    latencies lat;
    const auto start = clock_type::now();
    while (seconds_since(start) < seconds) {
        const auto t0 = clock_type::now();
        if (::write(fd, record.data(), record.size()) < 0 || ::fdatasync(fd) != 0) break;
        lat.us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    ::close(fd);
    std::filesystem::remove(file);
    std::printf("raw write(100 B) + fdatasync: %zu calls, p50 %.0f us, p99 %.0f us\n", lat.us.size(),
                lat.percentile(0.5), lat.percentile(0.99));
}

void group_commit_case(engine& store, int threads, double seconds) {
    std::atomic<std::uint64_t> ids{next_id + 1'000'000};
    commit_queue queue{store, sync_mode::batch, std::chrono::milliseconds{100}};
    const auto start = clock_type::now();
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t)
        submitters.emplace_back([&] {
            // Each thread waits for its request, as a publisher waits for its PUBACK, with 64 in flight.
            std::atomic<int> in_flight{0};
            while (seconds_since(start) < seconds) {
                if (in_flight.load() >= 64) {
                    std::this_thread::yield();
                    continue;
                }
                const auto id = ids.fetch_add(1);
                ++in_flight;
                queue.submit({put_message{{id, "sensors/bench", std::string(64, 'p'), 1, false}, 1},
                              put_queue_entry{"bench-client", {id, 1, false, delivery_state::queued, 0}}},
                             [&](bool) { --in_flight; });
            }
            while (in_flight.load() > 0) std::this_thread::yield();
        });
    for (auto& s : submitters) s.join();
    const auto elapsed = seconds_since(start);
    queue.stop();
    const auto c = queue.counters();
    std::printf(
        "commit_queue batch mode, %d threads x 64 in flight: %8.0f requests/s, %llu requests in %llu fsyncs "
        "(%.1f per fsync)\n",
        threads, static_cast<double>(c.requests) / elapsed, static_cast<unsigned long long>(c.requests),
        static_cast<unsigned long long>(c.fsyncs),
        static_cast<double>(c.requests) / static_cast<double>(std::max<std::uint64_t>(c.fsyncs, 1)));
}

}  // namespace

int main(int argc, char* argv[]) {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: storage_write_bench DIR [seconds per case]\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const double seconds = argc == 3 ? std::stod(argv[2]) : 3.0;
    if (std::filesystem::exists(dir)) {
        std::cerr << dir << " exists; give a new directory\n";
        return 2;
    }
    {
        auto store = rocksdb_engine::open(dir);
        (void)store->recover();
        store->apply({put_session{"bench-client", {{"sensors/#", 1}}}}, true);
        fdatasync_case(dir, seconds);
        for (const std::size_t batch : {1, 10, 100}) apply_case(*store, batch, true, seconds);
        for (const std::size_t batch : {1, 100}) apply_case(*store, batch, false, seconds);
        for (const int threads : {1, 4, 16}) group_commit_case(*store, threads, seconds);
    }
    std::filesystem::remove_all(dir);
    return 0;
}
