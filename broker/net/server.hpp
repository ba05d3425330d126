#pragma once
// The running broker: workers, listeners and the state they share. Built and stopped from the main thread.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/net/listener.hpp"
#include "broker/net/server_options.hpp"
#include "broker/net/worker.hpp"

namespace mqttd::net {

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
    // Stops accepting, closes every connection, and returns once the workers are idle or `grace` has passed.
    void stop(std::chrono::milliseconds grace);

    // Warning: callable from any thread. Every worker's and listener's counts, summed.
    counters_snapshot counters() const;
    // Logs one event=summary line with every count that changed since the last call (the main thread calls it
    // once a minute), so drops and refusals show in the log without a line per message.
    void log_summary();

private:
    void stop_listener(listener& l);

    shared_state shared_;
    // Written by the reloading thread, read by any (counters()): under listeners_mutex_. listeners_[i] serves
    // shared_.options.listeners[i]. Removed listeners are retired, not destroyed: their connections' tickets
    // point into them, and their refusals still count.
    mutable std::mutex listeners_mutex_;
    std::vector<std::unique_ptr<listener>> listeners_;
    std::vector<std::unique_ptr<listener>> retired_;
    // Held by reconfigure() and stop(): a reload from the admin API never meets a shutdown half-way.
    std::mutex lifecycle_mutex_;
    bool is_stopped_ = false;
    counters_snapshot last_summary_;
};

}  // namespace mqttd::net
