#pragma once
// HTTP Basic authentication (RFC 7617) for the admin API, against a password file in Mosquitto's format
// (the one mqttd-passwd writes; auth/password_file.hpp), with failed attempts slowed per client address as
// MQTT logins are (net/failed_logins.hpp).
// Owned by the HTTP server's thread; reload() may come from any thread (the file is swapped under a mutex).

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "auth/password_file.hpp"
#include "broker/net/failed_logins.hpp"

namespace mqttd::http {

struct basic_credentials {
    std::string username;
    std::string password;
};

// The value of an Authorization header: "Basic base64(user:pass)". nullopt for any other scheme, bad
// base64, or no ':' in the decoded text. The scheme name is case-insensitive (RFC 7235 2.1).
std::optional<basic_credentials> parse_basic_authorization(std::string_view header);

// What a 401 answers with (RFC 7617 2).
inline constexpr std::string_view www_authenticate = R"(Basic realm="mqttd", charset="UTF-8")";

class admin_auth {
public:
    // Throws auth::load_error naming the file, line and reason. An empty path: the API is disabled and every
    // check fails.
    admin_auth(std::string password_file, std::chrono::milliseconds step, std::chrono::milliseconds cap);

    // Re-reads the file; a broken file keeps the previous one and throws the reason.
    void reload();
    bool is_enabled() const noexcept { return !path_.empty(); }

    // How long an attempt from this address waits before it is checked (net::failed_logins::begin); every
    // call needs a finish().
    std::chrono::milliseconds delay_for(std::string_view host);
    // Checks the credentials (one password hash: tens of milliseconds for argon2id) and counts a failure.
    bool check(std::string_view host, const std::optional<basic_credentials>& credentials);

private:
    std::shared_ptr<const auth::password_file> current() const;

    std::string path_;
    mutable std::mutex mutex_;
    std::shared_ptr<const auth::password_file> passwords_;
    net::failed_logins failures_;
};

}  // namespace mqttd::http
