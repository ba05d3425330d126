#include "broker/net/failed_logins.hpp"

#include <algorithm>

namespace mqttd::net {

std::chrono::milliseconds failed_logins::delay_for(std::string_view address, clock::time_point now) {
    std::lock_guard lock{mutex_};
    const auto it = entries_.find(std::string{address});
    if (it == entries_.end() || now - it->second.first > window) return std::chrono::milliseconds{0};
    return std::min(cap_, step_ * static_cast<long>(it->second.failures));
}

void failed_logins::record(std::string_view address, clock::time_point now) {
    std::lock_guard lock{mutex_};
    if (entries_.size() >= max_addresses) {
        std::erase_if(entries_, [&](const auto& e) { return now - e.second.first > window; });
        if (entries_.size() >= max_addresses) entries_.clear();  // bounded memory beats a perfect memory
    }
    auto& e = entries_[std::string{address}];
    if (e.failures == 0 || now - e.first > window) e = entry{0, now};
    ++e.failures;
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
