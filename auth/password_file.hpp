#pragma once
// A password file in Mosquitto's format: one "username:hash" per line, hashes as password_hash reads them.
// As Mosquitto 2.0 reads it (src/security_default.c, pwfile__parse): the username is the text before the
// first ':', the hash the text after it, both trimmed of blanks (so "\r\n" endings and trailing spaces are
// fine); lines starting with '#' are comments (here after blanks too); a username appearing twice takes the
// hash of its last line (checked against mosquitto 2.0.11).
// Stricter than Mosquitto, which skips or drops a bad line with a log message and starts anyway: a line
// that is not blank, not a comment and not "username:hash" with a hash we can read stops the load with
// load_error, e.g. `passwords.txt:3: unknown hash type "$5$" (expected $6$, $7$ or $argon2id$)`.
//
// Immutable once loaded: verify() may run on any number of threads at once. Reload by loading a new one.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/password_hash.hpp"

namespace mqttd::auth {

class password_file {
public:
    // Throws load_error.
    static password_file load(const std::filesystem::path& path);
    // file_name is only used in messages.
    static password_file parse(std::string_view text, std::string_view file_name);

    // Constant time with respect to the user: an unknown username costs one verification of a hash like the
    // file's own (the cost most of its users have; the default argon2id for an empty file), so a client
    // cannot tell an unknown user from a wrong password by timing. Costs one hash verification: run it off
    // the event loop.
    bool verify(std::string_view username, std::string_view password) const;

    bool contains(std::string_view username) const;
    // The cost (password_hash::cost()) an unknown username is checked at.
    std::string unknown_user_cost() const { return dummy_.cost(); }
    std::size_t size() const noexcept { return users_.size(); }
    // Lines the load accepted but an operator should hear about (a user listed twice), "file:line: text".
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };

    explicit password_file(password_hash dummy) : dummy_{std::move(dummy)} {}

    std::unordered_map<std::string, password_hash, string_hash, std::equal_to<>> users_;
    password_hash dummy_;
    std::vector<std::string> warnings_;
};

}  // namespace mqttd::auth
