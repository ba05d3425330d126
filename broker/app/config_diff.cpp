#include "broker/app/config_diff.hpp"

#include "broker/net/listener_diff.hpp"

namespace mqttd::app {

namespace {

template <class T>
void note(std::vector<std::string>& changed, const char* key, const T& running, const T& next) {
    if (!(running == next)) changed.emplace_back(key);
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

}  // namespace

bool config_diff::is_empty() const noexcept {
    return !log_level && limits.empty() && !auth && listeners_added.empty() && listeners_removed.empty() &&
           listeners_changed.empty() && needs_restart.empty();
}

config_diff diff_configs(const config& running, const config& next) {
    config_diff d;
    const auto& r = running.server;
    const auto& n = next.server;
    d.log_level = running.log_level != next.log_level;

    // The keys read_limits() reads, in its order.
    note(d.limits, "max_packet_size", r.max_packet_size, n.max_packet_size);
    note(d.limits, "connect_timeout", r.connect_timeout, n.connect_timeout);
    note(d.limits, "max_outbound_bytes", r.max_outbound_bytes, n.max_outbound_bytes);
    note(d.limits, "write_timeout", r.write_timeout, n.write_timeout);
    note(d.limits, "max_connections", r.max_connections, n.max_connections);
    note(d.limits, "max_inflight", r.shard.session.max_inflight, n.shard.session.max_inflight);
    note(d.limits, "max_queued_messages", r.shard.session.max_queued_messages, n.shard.session.max_queued_messages);
    note(d.limits, "max_queued_bytes", r.shard.session.max_queued_bytes, n.shard.session.max_queued_bytes);
    note(d.limits, "queue_overflow", r.shard.session.overflow, n.shard.session.overflow);
    note(d.limits, "session_expiry", r.shard.session_expiry, n.shard.session_expiry);

    auto auth_r = r.auth;
    auto auth_n = n.auth;
    note(d.needs_restart, "auth.failed_login_delay", auth_r.failed_login_delay, auth_n.failed_login_delay);
    note(d.needs_restart, "auth.max_failed_login_delay", auth_r.max_failed_login_delay, auth_n.max_failed_login_delay);
    auth_n.failed_login_delay = auth_r.failed_login_delay;
    auth_n.max_failed_login_delay = auth_r.max_failed_login_delay;
    d.auth = !(auth_r == auth_n);

    note(d.needs_restart, "threads", r.threads, n.threads);
    note(d.needs_restart, "persistence", r.persistence, n.persistence);
    note(d.needs_restart, "shared_subscription_strategy", r.share_strategies.fallback, n.share_strategies.fallback);
    note(d.needs_restart, "shared_subscription_groups", r.share_strategies.by_group, n.share_strategies.by_group);

    const auto plan = net::plan_listeners(r.listeners, n.listeners, [](const net::listener_options& l) { return net::key_of(l); });
    for (const auto i : plan.start) d.listeners_added.push_back(net::describe(net::key_of(n.listeners[i])));
    for (const auto i : plan.stop) d.listeners_removed.push_back(net::describe(net::key_of(r.listeners[i])));
    for (const auto& [ri, ni] : plan.keep)
        if (!(r.listeners[ri] == n.listeners[ni])) d.listeners_changed.push_back(net::describe(net::key_of(n.listeners[ni])));
    return d;
}

std::string describe(const config_diff& d) {
    if (d.is_empty()) return "nothing";
    std::string out;
    const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
    if (d.log_level) add("log_level");
    if (!d.limits.empty()) add("limits=" + joined(d.limits));
    if (d.auth) add("auth");
    if (!d.listeners_added.empty()) add("listeners_added=" + joined(d.listeners_added));
    if (!d.listeners_removed.empty()) add("listeners_removed=" + joined(d.listeners_removed));
    if (!d.listeners_changed.empty()) add("listeners_changed=" + joined(d.listeners_changed));
    if (!d.needs_restart.empty()) add("needs_restart=" + joined(d.needs_restart));
    return out;
}

}  // namespace mqttd::app
