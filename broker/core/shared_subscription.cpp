#include "broker/core/shared_subscription.hpp"

#include <limits>
#include <random>

namespace mqttd::core {

const char* to_string(share_strategy s) noexcept {
    switch (s) {
    case share_strategy::round_robin: return "round_robin";
    case share_strategy::random: return "random";
    case share_strategy::sticky_by_publisher: return "sticky_by_publisher";
    case share_strategy::least_inflight: return "least_inflight";
    }
    return "unknown";
}

std::optional<share_strategy> parse_share_strategy(std::string_view name) noexcept {
    for (const auto s : {share_strategy::round_robin, share_strategy::random, share_strategy::sticky_by_publisher,
                         share_strategy::least_inflight})
        if (name == to_string(s)) return s;
    return std::nullopt;
}

share_syntax parse_share_filter(std::string_view full, share_filter& parts) noexcept {
    constexpr std::string_view prefix = "$share";
    if (!full.starts_with(prefix)) return share_syntax::ordinary;
    auto rest = full.substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') return share_syntax::ordinary;  // "$shared/x" is ordinary
    // From here the first level is "$share": MQTT 5 reserves it, so anything malformed is refused.
    if (rest.empty()) return share_syntax::invalid;
    rest.remove_prefix(1);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return share_syntax::invalid;  // no filter after the group
    const auto group = rest.substr(0, slash);
    const auto filter = rest.substr(slash + 1);
    // A share name is at least one character and holds no '/', '+' or '#' (MQTT 5, 4.8.2).
    if (group.empty() || group.find_first_of("+#") != std::string_view::npos || filter.empty())
        return share_syntax::invalid;
    parts = {group, filter};
    return share_syntax::shared;
}

share_group::share_group(std::string_view full_filter, std::string_view name, share_strategy strategy)
    : tag_{std::make_shared<const std::string>(full_filter)}, name_{name}, strategy_{strategy} {}

bool share_group::add(subscriber s) {
    s.share = tag_;
    for (auto& m : members_) {
        if (m.session.get() == s.session.get()) {
            m = std::move(s);
            return false;
        }
    }
    members_.push_back(std::move(s));
    return true;
}

bool share_group::remove(const session_slot* s) {
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].session.get() != s) continue;
        if (i != members_.size() - 1) members_[i] = std::move(members_.back());
        members_.pop_back();
        if (strategy_ == share_strategy::sticky_by_publisher) {
            const std::lock_guard lock{sticky_mutex_};
            std::erase_if(sticky_, [s](const auto& entry) { return entry.second == s; });
        }
        return true;
    }
    return false;
}

// Turns are taken in order, a member offline passing its turn on: over any `size` consecutive turns each
// member online gets one, however many are offline, and when all are online (the usual case) a pick is one
// look. With none online, the members take the messages in turn (persistent ones queue them).
const subscriber* share_group::by_turn() const noexcept {
    const auto size = members_.size();
    for (std::size_t attempt = 0; attempt < size; ++attempt) {
        const auto& m = members_[turn_.fetch_add(1, std::memory_order_relaxed) % size];
        if (m.session->is_online()) return &m;
    }
    return &members_[offline_turn_.fetch_add(1, std::memory_order_relaxed) % size];
}

const subscriber* share_group::at_random() const noexcept {
    thread_local std::minstd_rand generator{std::random_device{}()};
    const auto size = members_.size();
    for (std::size_t attempt = 0; attempt < size; ++attempt) {
        const auto& m = members_[generator() % size];
        if (m.session->is_online()) return &m;
    }
    // Few or none online: look at each once, from a random place.
    const auto start = generator() % size;
    for (std::size_t i = 0; i < size; ++i)
        if (members_[(start + i) % size].session->is_online()) return &members_[(start + i) % size];
    return &members_[start];
}

const subscriber* share_group::least_loaded() const noexcept {
    // Ties go round, so equally idle members share the load.
    const auto start = turn_.fetch_add(1, std::memory_order_relaxed) % members_.size();
    const subscriber* best = nullptr;
    auto best_load = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t i = 0; i < members_.size(); ++i) {
        const auto& m = members_[(start + i) % members_.size()];
        if (!m.session->is_online()) continue;
        const auto load = m.session->load();
        if (best == nullptr || load < best_load) {
            best = &m;
            best_load = load;
        }
    }
    return best != nullptr ? best : by_turn();
}

const subscriber* share_group::sticky(std::string_view publisher) const {
    if (publisher.empty()) return by_turn();
    const std::lock_guard lock{sticky_mutex_};
    if (const auto it = sticky_.find(publisher); it != sticky_.end()) {
        for (const auto& m : members_)
            if (m.session.get() == it->second && m.session->is_online()) return &m;
    }
    const auto* chosen = by_turn();
    // Only an online member is worth sticking to; an offline one just queues this message in turn.
    if (chosen != nullptr && chosen->session->is_online()) {
        if (sticky_.size() >= max_sticky) sticky_.clear();
        sticky_.insert_or_assign(std::string{publisher}, chosen->session.get());
    }
    return chosen;
}

bool share_group::pick(std::string_view publisher, subscriber& out) const {
    if (members_.empty()) return false;
    const subscriber* chosen = nullptr;
    switch (strategy_) {
    case share_strategy::round_robin:
        chosen = by_turn();
        break;
    case share_strategy::random:
        chosen = at_random();
        break;
    case share_strategy::sticky_by_publisher:
        chosen = sticky(publisher);
        break;
    case share_strategy::least_inflight:
        chosen = least_loaded();
        break;
    }
    if (chosen == nullptr) return false;
    out = *chosen;
    return true;
}

}  // namespace mqttd::core
