#pragma once
// The running broker: workers, listeners and the state they share. Built and stopped from the main thread.

#include <memory>
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
    // SIGHUP: re-read the certificate files of every TLS/WSS listener for new connections.
    void reload_tls();
    // Stops accepting, closes every connection, and returns once the workers are idle or `grace` has passed.
    void stop(std::chrono::milliseconds grace);

    const std::vector<std::unique_ptr<listener>>& listeners() const noexcept { return listeners_; }

private:
    shared_state shared_;
    std::vector<std::unique_ptr<listener>> listeners_;
    bool is_stopped_ = false;
};

}  // namespace mqttd::net
