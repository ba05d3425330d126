#pragma once
// Loads and validates mqttd's JSON configuration (comments allowed) as a whole, before anything starts.
// Every problem is a config_error naming the file, the key path and what was expected.

#include <stdexcept>
#include <string>

#include "broker/http/http_options.hpp"
#include "broker/logging/log.hpp"
#include "broker/net/server_options.hpp"

namespace mqttd::app {

struct config {
    net::server_options server;  // MQTT listeners and everything else of the broker
    http::http_options http;     // listeners of type "http" and the "admin" section
    logging::level log_level = logging::level::info;
};

class config_error : public std::runtime_error {
public:
    config_error(const std::string& file, const std::string& key, const std::string& reason);

    const std::string& file() const noexcept { return file_; }
    const std::string& key() const noexcept { return key_; }  // empty: the file as a whole
    const std::string& reason() const noexcept { return reason_; }

private:
    std::string file_;
    std::string key_;
    std::string reason_;
};

// The configuration used when no file is given: one TCP listener on 127.0.0.1:1883, anonymous allowed.
config default_config();

config load_config_file(const std::string& path);
config parse_config(const std::string& text, const std::string& file_name);

}  // namespace mqttd::app
