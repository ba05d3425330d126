#include "broker/http/basic_auth.hpp"

#include <algorithm>
#include <cctype>

#include "auth/base64.hpp"

namespace mqttd::http {

std::optional<basic_credentials> parse_basic_authorization(std::string_view header) {
    constexpr std::string_view scheme = "basic ";
    if (header.size() < scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), header.begin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
        return std::nullopt;
    auto encoded = header.substr(scheme.size());
    while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
    while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
    const auto decoded = auth::base64_decode(encoded);
    if (!decoded) return std::nullopt;
    const std::string text{decoded->begin(), decoded->end()};
    // RFC 7617: the user-id cannot contain ':'; the password may.
    const auto colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return basic_credentials{text.substr(0, colon), text.substr(colon + 1)};
}

admin_auth::admin_auth(std::string password_file, std::chrono::milliseconds step, std::chrono::milliseconds cap)
    : path_{std::move(password_file)}, failures_{step, cap, 1} {
    if (is_enabled()) passwords_ = std::make_shared<const auth::password_file>(auth::password_file::load(path_));
}

void admin_auth::reload() {
    if (!is_enabled()) return;
    auto fresh = std::make_shared<const auth::password_file>(auth::password_file::load(path_));
    std::lock_guard lock{mutex_};
    passwords_ = std::move(fresh);
}

std::shared_ptr<const auth::password_file> admin_auth::current() const {
    std::lock_guard lock{mutex_};
    return passwords_;
}

std::chrono::milliseconds admin_auth::delay_for(std::string_view host) {
    return failures_.begin(host, net::failed_logins::clock::now());
}

bool admin_auth::check(std::string_view host, const std::optional<basic_credentials>& credentials) {
    const auto passwords = current();
    const bool is_valid = passwords && credentials && passwords->verify(credentials->username, credentials->password);
    failures_.end(host, !is_valid, net::failed_logins::clock::now());
    return is_valid;
}

}  // namespace mqttd::http
