#pragma once
// A connection's place under max_connections: taken by the listener when it accepts, given back when the
// connection object goes. Counters are shared by every worker.

#include <atomic>
#include <cstddef>

namespace mqttd::net {

class connection_ticket {
public:
    connection_ticket() = default;
    // Takes a place when both counters are under their limits (0: no limit); otherwise an empty ticket.
    static connection_ticket take(std::atomic<std::size_t>& all, std::size_t all_limit,
                                  std::atomic<std::size_t>& listener, std::size_t listener_limit) noexcept {
        if (!reserve(all, all_limit)) return {};
        if (!reserve(listener, listener_limit)) {
            all.fetch_sub(1, std::memory_order_relaxed);
            return {};
        }
        return connection_ticket{&all, &listener};
    }

    connection_ticket(connection_ticket&& other) noexcept : all_{other.all_}, listener_{other.listener_} {
        other.all_ = other.listener_ = nullptr;
    }
    connection_ticket& operator=(connection_ticket&&) = delete;
    connection_ticket(const connection_ticket&) = delete;
    ~connection_ticket() {
        if (all_ != nullptr) all_->fetch_sub(1, std::memory_order_relaxed);
        if (listener_ != nullptr) listener_->fetch_sub(1, std::memory_order_relaxed);
    }

    explicit operator bool() const noexcept { return all_ != nullptr; }
    // The listener's counter this place was taken from: tells which listener accepted the connection.
    const void* listener_place() const noexcept { return listener_; }

private:
    connection_ticket(std::atomic<std::size_t>* all, std::atomic<std::size_t>* listener) noexcept
        : all_{all}, listener_{listener} {}

    static bool reserve(std::atomic<std::size_t>& count, std::size_t limit) noexcept {
        auto n = count.load(std::memory_order_relaxed);
        do {
            if (limit != 0 && n >= limit) return false;
        } while (!count.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
        return true;
    }

    std::atomic<std::size_t>* all_ = nullptr;
    std::atomic<std::size_t>* listener_ = nullptr;
};

}  // namespace mqttd::net
