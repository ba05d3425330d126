#pragma once
// The running broker: workers, listeners and the state they share. Built and stopped from the main thread.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/net/broker_stats.hpp"
#include "broker/net/listener.hpp"
#include "broker/net/server_options.hpp"
#include "broker/net/sys_publisher.hpp"
#include "broker/net/worker.hpp"

namespace mqttd::net {

// One client as the admin API shows it (server_admin.cpp).
struct client_info {
    core::session_view session;
    std::optional<connection_info> connection;  // nullopt: offline (a persistent session kept)
};

class server {
public:
    // Binds every listener; throws std::runtime_error naming the listener when one cannot bind.
    explicit server(server_options options);
    ~server();

    void start();
    // A reload (README: "Reload"): `next` is a whole, validated configuration. Settings a running broker cannot
    // change (threads, persistence, the shared-subscription strategies, the failed-login delays) keep their
    // running values. First what can fail is prepared: the TLS files of every kept TLS listener and the password
    // and ACL files are read again; a broken one throws (after an event=tls_reload_failed or
    // event=auth_reload_failed line) and nothing has changed. Then the limits reach every worker (new
    // connections and sessions), listeners removed from the file stop and close their connections, new ones
    // start, and kept ones keep their socket and clients. A new listener that cannot bind is logged and named
    // in the returned list; everything else still applies. With the running options, this is the old SIGHUP:
    // TLS and auth files only.
    // Warning: any thread but a worker's; waits for a reload under way, or for stop(). After stop(): does nothing.
    std::vector<std::string> reconfigure(server_options next);
    // The running options, as the last reconfigure() left them. Warning: the reloading thread's.
    const server_options& options() const noexcept { return shared_.options; }
    // Warning: callable from any thread. The port of each running listener, in configuration order.
    std::vector<std::uint16_t> listener_ports() const;
    // Stops accepting, closes every connection, and returns once the workers and the commit thread are idle
    // together (what one worker hands another on the way is taken in) or `grace` has passed.
    void stop(std::chrono::milliseconds grace);

    // Warning: callable from any thread. Every worker's and listener's counts, summed.
    counters_snapshot counters() const;
    // Warning: callable from any thread. Everything the $SYS topics and the metrics report.
    broker_stats stats() const;
    // Logs one event=summary line with every count that changed since the last call (the main thread calls it
    // once a minute), so drops and refusals show in the log without a line per message.
    void log_summary();

    // server_admin.cpp: the admin API's views and actions. Warning: called from the HTTP thread (any thread but
    // a worker's); each posts to the workers and waits for their answers, at most admin_timeout.
    // nullopt when a worker did not answer in time.
    static constexpr auto admin_timeout = std::chrono::seconds{5};
    std::optional<std::vector<client_info>> clients() const;
    // An outer nullopt: no answer in time; an inner one: no such client.
    std::optional<std::optional<client_info>> client(std::string_view client_id) const;
    std::optional<core::kick_result> kick(std::string_view client_id, bool discard_session);
    std::vector<core::message_ptr> retained(std::string_view filter) const;
    std::optional<std::size_t> delete_retained(std::string_view filter);
    std::size_t subscription_count() const { return shared_.router.subscription_count(); }
    std::size_t retained_count() const { return shared_.router.retained_count(); }
    std::size_t worker_count() const noexcept { return shared_.workers.size(); }

private:
    void stop_listener(listener& l);
    // stop(): true once every worker and the commit thread are idle together; false at the deadline.
    bool wait_until_drained(std::chrono::steady_clock::time_point deadline);
    // The only reads of listeners_ outside start/stop/reload; takes listeners_mutex_.
    void add_listener_counts(counters_snapshot& total, std::vector<listener_stats>* each) const;

    shared_state shared_;
    std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
    mutable std::atomic<std::uint64_t> max_connected_{0};
    std::unique_ptr<sys_publisher> sys_;  // null when sys_interval is 0; destroyed before the workers
    // Written by the reloading thread, read by any (counters(), stats()): under listeners_mutex_. listeners_[i]
    // serves shared_.options.listeners[i]. Removed listeners are retired, not destroyed: their connections'
    // tickets point into them, and their refusals still count.
    mutable std::mutex listeners_mutex_;
    std::vector<std::unique_ptr<listener>> listeners_;
    std::vector<std::unique_ptr<listener>> retired_;
    // Held by reconfigure() and stop(): a reload from the admin API never meets a shutdown half-way.
    std::mutex lifecycle_mutex_;
    bool is_stopped_ = false;
    bool is_started_ = false;  // start() ran: the workers' threads exist to run what stop() posts
    counters_snapshot last_summary_;
};

}  // namespace mqttd::net
