// How long a restart takes to read a large store back: fills a RocksDB store with retained messages and
// persistent sessions with queued messages, closes it, and times open() and recover().
//
//   storage_recovery_bench DIR [retained 1000000] [sessions 100000] [entries per session 10] [fan-out 1]
// fan-out: how many sessions' queues share each message body (1: every entry has a body of its own).
// A new DIR is filled, timed, and removed at the end unless MQTTD_BENCH_KEEP is set. A DIR that holds a store
// already is only timed, once, and kept: with the page cache dropped in between
// (sync; echo 3 > /proc/sys/vm/drop_caches), that is a cold start.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "storage/rocksdb_engine.hpp"

using namespace mqttd::storage;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::uintmax_t directory_bytes(const std::filesystem::path& dir) {
    std::uintmax_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator{dir})
        if (e.is_regular_file()) total += e.file_size();
    return total;
}

long max_rss_mib() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024;
}

// Payloads that do not compress, as sensor readings mostly do not either (LZ4 would shrink repeated bytes
// to nothing and make the disk's part look smaller than it is).
std::string payload(std::size_t n) {
    static std::uint64_t state = 88172645463325252ull;
    std::string p(n, '\0');
    for (auto& c : p) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        c = static_cast<char>('0' + state % 75);
    }
    return p;
}

void fill(const std::filesystem::path& dir, std::uint64_t retained, std::uint64_t sessions,
          std::uint64_t entries, std::uint64_t fanout) {
    auto store = rocksdb_engine::open(dir);
    (void)store->recover();
    std::vector<operation> ops;
    const auto flush_ops = [&](bool force) {
        if (ops.size() < 1000 && !(force && !ops.empty())) return;
        store->apply(ops, false);
        ops.clear();
    };
    for (std::uint64_t i = 0; i < retained; ++i) {
        ops.push_back(
            put_retained{{0, "site/" + std::to_string(i / 1000) + "/device/" + std::to_string(i) + "/state",
                          payload(48), 1, true}});
        flush_ops(false);
    }
    flush_ops(true);
    // Session s's entry e refers to message (s / fanout) * entries + e + 1: fanout consecutive sessions share
    // their bodies. Each body is put (with its reference count) by the first session that holds it.
    for (std::uint64_t s = 0; s < sessions; ++s) {
        const auto client = "client-" + std::to_string(s);
        ops.push_back(put_session{client, {{"site/+/device/#", 1}, {"alerts/" + client, 2}}});
        for (std::uint64_t e = 0; e < entries; ++e) {
            const auto id = (s / fanout) * entries + e + 1;
            if (s % fanout == 0)
                ops.push_back(
                    put_message{{id, "site/1/device/" + std::to_string(id) + "/event", payload(64), 1, false},
                                static_cast<std::uint32_t>(fanout)});
            ops.push_back(put_queue_entry{client, {id, 1, false, delivery_state::queued, 0}});
        }
        flush_ops(false);
    }
    flush_ops(true);
    store->flush();
}

}  // namespace

int main(int argc, char* argv[]) {
    if (argc < 2 || argc > 6) {
        std::cerr
            << "usage: storage_recovery_bench DIR [retained] [sessions] [entries per session] [fan-out]\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const auto arg = [&](int i, std::uint64_t fallback) {
        return argc > i ? std::stoull(argv[i]) : fallback;
    };
    const auto retained = arg(2, 1'000'000), sessions = arg(3, 100'000), entries = arg(4, 10),
               fanout = arg(5, 1);
    const bool is_filled = std::filesystem::exists(dir / "CURRENT");
    if (std::filesystem::exists(dir) && !is_filled) {
        std::cerr << dir << " exists and holds no store; give a new directory\n";
        return 2;
    }

    auto start = clock_type::now();
    if (!is_filled) {
        fill(dir, retained, sessions, entries, fanout);
        std::printf(
            "filled %llu retained, %llu sessions x %llu entries (fan-out %llu) in %.1f s; %.0f MiB on disk\n",
            static_cast<unsigned long long>(retained), static_cast<unsigned long long>(sessions),
            static_cast<unsigned long long>(entries), static_cast<unsigned long long>(fanout),
            seconds_since(start), static_cast<double>(directory_bytes(dir)) / (1 << 20));
    }

    for (int run = 1; run <= (is_filled ? 1 : 3); ++run) {
        start = clock_type::now();
        auto store = rocksdb_engine::open(dir);
        const auto opened = seconds_since(start);
        const auto state = store->recover();
        const auto total = seconds_since(start);
        std::size_t queued = 0;
        for (const auto& s : state.sessions) queued += s.queue.size();
        std::printf(
            "run %d: open %.2f s, recover %.2f s, total %.2f s: %zu retained, %zu sessions, %zu entries, "
            "%zu bodies; max RSS %ld MiB\n",
            run, opened, total - opened, total, state.retained.size(), state.sessions.size(), queued,
            state.messages.size(), max_rss_mib());
        for (const auto& n : store->take_notes()) std::printf("  note: %s\n", n.text.c_str());
    }
    if (!is_filled && std::getenv("MQTTD_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);
    return 0;
}
