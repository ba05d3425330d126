#pragma once
// Password checks per client address, so that guessing from one address is slow and cheap for the broker.
// An attempt from an address first waits failed_login_delay for each failure from it in the last minute and
// for each of its other attempts still being checked beyond `concurrent` (at most max_failed_login_delay),
// before its password is even hashed. So a burst of guesses from one address costs timers, not hashes: it
// gets `concurrent` hashes at a time at most, and the rest time out at connect_timeout. Other addresses are
// not slowed. (A fleet reconnecting through one address is slowed the same way: give it client certificates.)
// Warning: called from all worker threads; one mutex, held for a map operation.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mqttd::net {

class failed_logins {
public:
    using clock = std::chrono::steady_clock;
    static constexpr auto window = std::chrono::minutes{1};
    static constexpr std::size_t max_addresses = 100'000;  // past it, forget idle entries, then everything

    failed_logins(std::chrono::milliseconds step, std::chrono::milliseconds cap, std::size_t concurrent)
        : step_{step}, cap_{cap}, concurrent_{concurrent} {}

    // An attempt starts: how long it waits before its password is checked. Every begin() needs an end().
    std::chrono::milliseconds begin(std::string_view address, clock::time_point now);
    // Its check is over (or abandoned): `failed` counts it against the address for a minute.
    void end(std::string_view address, bool failed, clock::time_point now);

private:
    struct entry {
        std::size_t failures = 0;  // in the window starting at `first`
        clock::time_point first;
        std::size_t in_flight = 0;
    };

    std::chrono::milliseconds step_;
    std::chrono::milliseconds cap_;
    std::size_t concurrent_;
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
};

// "127.0.0.1:53122" -> "127.0.0.1", "[::1]:53122" -> "::1": failures count per host, not per connection.
std::string_view host_of(std::string_view address) noexcept;

}  // namespace mqttd::net
