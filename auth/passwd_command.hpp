#pragma once
// mqttd-passwd's command line, read as mosquitto_passwd reads its own (options first, then the file, the
// username and, with -b, the password), with mosquitto_passwd's option names and messages.

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "auth/password_hash.hpp"

namespace mqttd::auth {

struct passwd_command {
    enum class action {
        add_or_update,    // the default: add the user, or give an existing one a new password
        create,           // -c: a new file holding only this user
        remove,           // -D
        hash_plain_text,  // -U
        show_help,        // -h, --help
    };
    action what = action::add_or_update;
    std::string file;
    std::string username;
    std::optional<std::string> password;  // -b; otherwise it is asked for on the terminal
    hash_kind kind = hash_kind::argon2id;
    std::uint32_t iterations = default_pbkdf2_iterations;
};

// A command line mqttd-passwd refuses. what() is the message without "Error: " (empty when only the usage
// text should be printed); the usage text follows when shows_usage().
class usage_error : public std::runtime_error {
public:
    usage_error(const std::string& message, bool shows_usage)
        : std::runtime_error{message}, shows_usage_{shows_usage} {}
    bool shows_usage() const noexcept { return shows_usage_; }

private:
    bool shows_usage_;
};

// args: the arguments after the program name. Throws usage_error.
passwd_command parse_passwd_command(std::span<const std::string_view> args);

std::string_view passwd_usage() noexcept;

}  // namespace mqttd::auth
