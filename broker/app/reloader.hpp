#pragma once
// A reload (README: "Reload"), from SIGHUP or the admin API: re-reads the configuration file and validates it as
// start-up does (its password and ACL files too, as --check does), then applies what changed to the running
// server. An invalid file changes nothing: the running configuration stays and event=reload_failed says why.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "broker/app/config.hpp"
#include "broker/net/server.hpp"

namespace mqttd::app {

// What the command line sets over the file, at start-up and at every reload.
struct command_line_overrides {
    std::optional<std::uint16_t> port;  // -p: the first listener's port
    bool is_verbose = false;            // -v: debug logs, whatever log_level says
};

// The file's configuration with the command line's overrides applied.
void apply_overrides(config& c, const command_line_overrides& overrides);
logging::level effective_log_level(const config& c, const command_line_overrides& overrides);

struct reload_outcome {
    bool ok = false;
    std::string message;  // what changed, or why nothing did (file, key, reason)
};

class reloader {
public:
    // `running`: the configuration the server was started with, overrides applied. Without a config file, a
    // reload re-reads the TLS, password and ACL files only.
    reloader(net::server& server, std::optional<std::string> config_file, config running,
             command_line_overrides overrides);

    // Warning: from any thread but a worker's (it waits for the workers); one reload at a time, the others
    // wait their turn.
    reload_outcome reload_configuration();
    // The configuration running now: the last one a reload applied. Warning: read it on the thread that reloads.
    const config& running() const noexcept { return running_; }

private:
    reload_outcome reload_locked();

    net::server& server_;
    std::optional<std::string> config_file_;
    config running_;
    command_line_overrides overrides_;
    std::mutex mutex_;
};

}  // namespace mqttd::app
