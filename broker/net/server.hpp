#pragma once
// The running broker: workers, listeners and the state they share. Built and stopped from the main thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/net/listener.hpp"
#include "broker/net/server_options.hpp"
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
    // SIGHUP: re-read the certificate files of every TLS/WSS listener (for new connections) and the password
    // and ACL files (for the next login, PUBLISH, SUBSCRIBE and delivery). A broken file keeps the old one.
    void reload();
    void reload_tls();
    // Stops accepting, closes every connection, and returns once the workers are idle or `grace` has passed.
    void stop(std::chrono::milliseconds grace);

    const std::vector<std::unique_ptr<listener>>& listeners() const noexcept { return listeners_; }

    // Warning: callable from any thread. Every worker's and listener's counts, summed.
    counters_snapshot counters() const;
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
    shared_state shared_;
    std::vector<std::unique_ptr<listener>> listeners_;
    bool is_stopped_ = false;
    counters_snapshot last_summary_;
};

}  // namespace mqttd::net
