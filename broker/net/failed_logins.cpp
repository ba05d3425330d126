#include "broker/net/failed_logins.hpp"

#include <algorithm>

namespace mqttd::net {

std::chrono::milliseconds failed_logins::begin(std::string_view address, clock::time_point now) {
    std::lock_guard lock{mutex_};
    if (entries_.size() >= max_addresses) {
        std::erase_if(entries_, [&](const auto& e) { return e.second.in_flight == 0 && now - e.second.first > window; });
        // Bounded memory beats a perfect memory: forget the failures, keep the attempts in flight.
        if (entries_.size() >= max_addresses)
            for (auto& [a, e] : entries_) e.failures = 0;
    }
    auto& e = entries_[std::string{address}];
    if (now - e.first > window) e.failures = 0;
    const auto waiting = e.in_flight > concurrent_ ? e.in_flight - concurrent_ : 0;
    ++e.in_flight;
    return std::min(cap_, step_ * static_cast<long>(e.failures + waiting));
}

void failed_logins::end(std::string_view address, bool failed, clock::time_point now) {
    std::lock_guard lock{mutex_};
    const auto it = entries_.find(std::string{address});
    if (it == entries_.end()) return;
    auto& e = it->second;
    if (e.in_flight > 0) --e.in_flight;
    if (failed) {
        if (e.failures == 0 || now - e.first > window) e.first = now, e.failures = 0;
        ++e.failures;
    }
    if (e.in_flight == 0 && e.failures == 0) entries_.erase(it);
}

std::string_view host_of(std::string_view address) noexcept {
    if (!address.empty() && address.front() == '[') {
        const auto close = address.find(']');
        return close == std::string_view::npos ? address : address.substr(1, close - 1);
    }
    const auto colon = address.rfind(':');
    return colon == std::string_view::npos ? address : address.substr(0, colon);
}

}  // namespace mqttd::net
