#pragma once
// The running broker: workers, listeners and the state they share. Built and stopped from the main thread.

#include <memory>
#include <vector>

#include "broker/net/broker_stats.hpp"
#include "broker/net/listener.hpp"
#include "broker/net/server_options.hpp"
#include "broker/net/sys_publisher.hpp"
#include "broker/net/worker.hpp"

namespace mqttd::net {

class server {
public:
    // Binds every listener; throws std::runtime_error naming the listener when one cannot bind.
    explicit server(server_options options);
    ~server();

    void start();
    // SIGHUP: re-read the certificate files of every TLS/WSS listener (for new connections) and the password
    // and ACL files (for the next login, PUBLISH, SUBSCRIBE and delivery). A broken file keeps the old one.
    void reload();
    void reload_tls();
    // Stops accepting, closes every connection, and returns once the workers are idle or `grace` has passed.
    void stop(std::chrono::milliseconds grace);

    const std::vector<std::unique_ptr<listener>>& listeners() const noexcept { return listeners_; }

    // Warning: callable from any thread. Every worker's and listener's counts, summed.
    counters_snapshot counters() const;
    // Warning: callable from any thread. Everything the $SYS topics and the metrics report.
    broker_stats stats() const;
    // Logs one event=summary line with every count that changed since the last call (the main thread calls it
    // once a minute), so drops and refusals show in the log without a line per message.
    void log_summary();

private:
    // The only reads of listeners_ outside start/stop/reload, for a lock to guard when they change at run time.
    void add_listener_counts(counters_snapshot& total, std::vector<listener_stats>* each) const;

    shared_state shared_;
    std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
    mutable std::atomic<std::uint64_t> max_connected_{0};
    std::unique_ptr<sys_publisher> sys_;  // null when sys_interval is 0; destroyed before the workers
    std::vector<std::unique_ptr<listener>> listeners_;
    bool is_stopped_ = false;
    counters_snapshot last_summary_;
};

}  // namespace mqttd::net
