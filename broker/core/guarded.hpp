#pragma once
// Data shared between worker threads travels with its reader-writer lock, so it cannot be touched unlocked.

#include <mutex>
#include <shared_mutex>

namespace mqttd::core {

template <class T>
class guarded {
public:
    template <class Lock, class Ref>
    class locked {
    public:
        locked(std::shared_mutex& m, Ref value) : lock_{m}, value_{value} {}
        Ref operator*() const noexcept { return value_; }
        auto* operator->() const noexcept { return &value_; }

    private:
        Lock lock_;
        Ref value_;
    };

    auto read() const { return locked<std::shared_lock<std::shared_mutex>, const T&>{mutex_, value_}; }
    auto write() { return locked<std::unique_lock<std::shared_mutex>, T&>{mutex_, value_}; }

private:
    mutable std::shared_mutex mutex_;
    T value_;
};

}  // namespace mqttd::core
