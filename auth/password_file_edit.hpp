#pragma once
// mqttd-passwd's edits to a password file, as text in and text out so that they can be tested without
// files (text_file.hpp writes the result). As mosquitto_passwd (apps/mosquitto_passwd/mosquitto_passwd.c)
// they keep every other line byte for byte, and stop at a line that is not "username:password" (its
// "Corrupt password file at line N"); unlike it they keep comments and blank lines instead of stopping.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mqttd::auth {

// Empty when username can go into a password file, else why not (mosquitto_passwd's rules: at most 65535
// bytes, no control characters, no ':').
std::string username_problem(std::string_view username);
// Empty when password can be hashed, else why not (empty, or more than 65535 bytes).
std::string password_problem(std::string_view password);

// Every line of username gets encoded_hash (mosquitto_passwd rewrites each of them); without one, a line is
// appended. Throws load_error{file_name, line, reason} for a malformed line.
std::string set_user(std::string_view text, std::string_view file_name, std::string_view username,
                     std::string_view encoded_hash);

// text without the lines of username; nullopt when it has none. Throws load_error for a malformed line.
std::optional<std::string> remove_user(std::string_view text, std::string_view file_name,
                                       std::string_view username);

// mqttd-passwd -U: each "username:password" line whose password is not already a hash password_hash reads
// becomes "username:" + hash(password). Unlike mosquitto_passwd -U, which hashes every line again (so a
// second run turns each hash into the password), lines already hashed are kept: running it twice is safe.
// The password is the text after the first ':', trimmed of blanks as mosquitto_passwd trims it.
std::string hash_plain_text(std::string_view text, std::string_view file_name,
                            const std::function<std::string(std::string_view password)>& hash);

}  // namespace mqttd::auth
