#pragma once
// What a reload changes (README: "Reload"): compared key by key for the event=reloaded line and the tests, and
// which changed settings a running broker cannot take (they keep their running value until a restart).

#include <string>
#include <vector>

#include "broker/app/config.hpp"

namespace mqttd::app {

struct config_diff {
    bool log_level = false;
    std::vector<std::string> limits;             // config keys, e.g. "max_packet_size"
    bool auth = false;                           // the auth section (its files are re-read on every reload anyway)
    std::vector<std::string> listeners_added;    // "tcp 127.0.0.1:1884" (listener_diff.hpp: describe)
    std::vector<std::string> listeners_removed;
    std::vector<std::string> listeners_changed;  // same key, other options
    // Config keys whose new value needs a restart: "threads", "persistence", "shared_subscription_strategy",
    // "shared_subscription_groups", "auth.failed_login_delay", "auth.max_failed_login_delay".
    std::vector<std::string> needs_restart;

    bool is_empty() const noexcept;
};

config_diff diff_configs(const config& running, const config& next);

// "log_level limits=max_packet_size,max_inflight listeners_added=..." (only what changed; "nothing" if nothing).
std::string describe(const config_diff& d);

}  // namespace mqttd::app
