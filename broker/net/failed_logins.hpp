#pragma once
// Failed logins per client address, so that guessing passwords from one address is slowed: the next attempt
// from an address waits failed_login_delay times its failures in the last minute (at most
// max_failed_login_delay) before its password is even checked. The wait costs a timer, not a hash, so a
// crowd of guesses from one address cannot keep the password threads busy either.
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
    static constexpr std::size_t max_addresses = 100'000;  // past it, forget expired entries, then everything

    failed_logins(std::chrono::milliseconds step, std::chrono::milliseconds cap) : step_{step}, cap_{cap} {}

    std::chrono::milliseconds delay_for(std::string_view address, clock::time_point now);
    void record(std::string_view address, clock::time_point now);

private:
    struct entry {
        std::size_t failures = 0;
        clock::time_point first;
    };

    std::chrono::milliseconds step_;
    std::chrono::milliseconds cap_;
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
};

// "127.0.0.1:53122" -> "127.0.0.1", "[::1]:53122" -> "::1": failures count per host, not per connection.
std::string_view host_of(std::string_view address) noexcept;

}  // namespace mqttd::net
