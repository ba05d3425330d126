#include "broker/app/reloader.hpp"

#include "broker/app/config_diff.hpp"
#include "broker/logging/log.hpp"

namespace mqttd::app {

using logging::level;
using logging::log_line;
using logging::quoted;

void apply_overrides(config& c, const command_line_overrides& overrides) {
    if (overrides.port && !c.server.listeners.empty()) c.server.listeners.front().port = *overrides.port;
}

logging::level effective_log_level(const config& c, const command_line_overrides& overrides) {
    return overrides.is_verbose ? level::debug : c.log_level;
}

reloader::reloader(net::server& server, std::optional<std::string> config_file, config running,
                   command_line_overrides overrides)
    : server_{server}, config_file_{std::move(config_file)}, running_{std::move(running)}, overrides_{overrides} {}

reload_outcome reloader::reload_configuration() {
    std::lock_guard lock{mutex_};
    try {
        return reload_locked();
    } catch (const std::exception& e) {
        // The server threw before changing anything: a TLS, password or ACL file is broken (it said which).
        log_line{level::warning} << "event=reload_failed reason=" << quoted{e.what()} << " kept=running";
        return {false, e.what()};
    }
}

reload_outcome reloader::reload_locked() {
    config next = running_;
    if (config_file_) {
        try {
            next = load_config_file(*config_file_);
        } catch (const config_error& e) {
            log_line{level::warning} << "event=reload_failed file=" << quoted{e.file()} << " key=" << quoted{e.key()}
                                     << " reason=" << quoted{e.reason()} << " kept=running";
            return {false, e.what()};
        }
        apply_overrides(next, overrides_);
    }
    // The password, ACL and TLS files are part of the configuration (as for --check and start-up): the server
    // reads them first, and throws before changing anything when one is broken.
    const auto failures = server_.reconfigure(next.server);
    const auto changes = diff_configs(running_, next);
    for (const auto& key : changes.needs_restart)
        log_line{level::warning} << "event=reload_needs_restart key=" << key
                                 << " detail=\"the running value is kept until mqttd restarts\"";
    const auto log_level = effective_log_level(next, overrides_);
    running_ = std::move(next);
    // What cannot change at runtime keeps its running value (as server::reconfigure did), so the next reload
    // still warns about it.
    const auto& kept = server_.options();
    running_.server.threads = kept.threads;
    running_.server.persistence = kept.persistence;
    running_.server.share_strategies = kept.share_strategies;
    running_.server.auth.failed_login_delay = kept.auth.failed_login_delay;
    running_.server.auth.max_failed_login_delay = kept.auth.max_failed_login_delay;
    std::string message = "changed: " + describe(changes);
    for (const auto& f : failures) message += "; not started: " + f;
    log_line{failures.empty() ? level::info : level::warning}
        << "event=reloaded changed=" << quoted{describe(changes)} << " listeners_failed=" << failures.size();
    logging::set_level(log_level);  // after the line: a reload to log_level error still says what it did
    return {failures.empty(), message};
}

}  // namespace mqttd::app
