#pragma once
// The notes an engine gathers for the broker's log, behind their mutex. Warning: every member is callable
// from any thread (RocksDB logs from its background threads; the broker takes the notes from its own).

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.hpp"

namespace mqttd::storage {

class note_sink {
public:
    // Past this many untaken notes, new ones are counted, not kept: a storm of warnings from a failing disk
    // must not grow memory while nobody reads them.
    static constexpr std::size_t max_kept = 1000;

    void add(note n) {
        const std::lock_guard lock{mutex_};
        if (notes_.size() < max_kept)
            notes_.push_back(std::move(n));
        else
            ++dropped_;
    }

    std::vector<note> take() {
        const std::lock_guard lock{mutex_};
        auto taken = std::exchange(notes_, {});
        if (dropped_ > 0)
            taken.push_back({note_level::warning, std::to_string(std::exchange(dropped_, 0)) +
                                                      " more notes were dropped (too many to keep)"});
        return taken;
    }

private:
    std::mutex mutex_;
    std::vector<note> notes_;
    std::size_t dropped_ = 0;
};

}  // namespace mqttd::storage
