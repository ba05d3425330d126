#include "auth/passwd_command.hpp"

#include <charconv>
#include <climits>

namespace mqttd::auth {
namespace {

[[noreturn]] void refuse(const std::string& message) { throw usage_error{message, false}; }
[[noreturn]] void show_usage() { throw usage_error{"", true}; }

}  // namespace

std::string_view passwd_usage() noexcept {
    return "mqttd-passwd is a tool for managing password files for mqttd (Mosquitto's format).\n"
           "\n"
           "Usage: mqttd-passwd [-H argon2id | -H sha512-pbkdf2] [-I iterations] [-c | -D] passwordfile "
           "username\n"
           "       mqttd-passwd [-H argon2id | -H sha512-pbkdf2] [-I iterations] [-c] -b passwordfile "
           "username "
           "password\n"
           "       mqttd-passwd [-H argon2id | -H sha512-pbkdf2] [-I iterations] -U passwordfile\n"
           " -b : run in batch mode to allow passing passwords on the command line.\n"
           " -c : create a new password file. This will overwrite existing files.\n"
           " -D : delete the username rather than adding/updating its password.\n"
           " -H : specify the hashing algorithm. Defaults to argon2id (m=19456 KiB, t=2, p=1), which is\n"
           "      recommended. sha512-pbkdf2 is what Mosquitto 2.0 writes and the newest kind it reads.\n"
           " -I : iterations for sha512-pbkdf2 (default 210000, OWASP's figure).\n"
           " -U : update a plain text password file to use hashed passwords. Lines already hashed are kept.\n"
           "\n"
           "Files written by mosquitto_passwd ($6$, $7$ and $argon2id$ hashes) are read as they are.\n";
}

passwd_command parse_passwd_command(std::span<const std::string_view> args) {
    if (args.empty()) show_usage();
    passwd_command cmd;
    bool is_batch = false, is_create = false, is_delete = false, is_update_file = false,
         has_iterations = false;
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const auto arg = args[i];
        if (arg == "-h" || arg == "--help") {
            cmd.what = passwd_command::action::show_help;
            return cmd;
        } else if (arg == "-H") {
            if (i + 1 == args.size()) refuse("-H argument given but not enough other arguments.");
            const auto name = args[++i];
            if (name == "argon2id")
                cmd.kind = hash_kind::argon2id;
            else if (name == "sha512-pbkdf2")
                cmd.kind = hash_kind::sha512_pbkdf2;
            else if (name == "sha512")
                refuse(
                    "-H sha512 is not offered: one round of SHA-512 is too fast to resist guessing. Use "
                    "argon2id, or sha512-pbkdf2 for files Mosquitto 2.0 must read too.");
            else
                refuse("Unknown hash type '" + std::string{name} + "' (expected argon2id or sha512-pbkdf2).");
        } else if (arg == "-I") {
            if (i + 1 == args.size()) refuse("-I argument given but not enough other arguments.");
            const auto text = args[++i];
            std::uint64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > INT_MAX)
                refuse("Number of iterations must be from 1 to 2147483647.");
            cmd.iterations = static_cast<std::uint32_t>(value);
            has_iterations = true;
        } else if (arg == "-b") {
            is_batch = true;
        } else if (arg == "-c") {
            is_create = true;
        } else if (arg == "-D") {
            is_delete = true;
        } else if (arg == "-U") {
            is_update_file = true;
        } else {
            break;
        }
    }

    if (is_create && is_delete) refuse("-c and -D cannot be used together.");
    if (is_create && is_update_file) refuse("-c and -U cannot be used together.");
    if (is_delete && is_update_file) refuse("-D and -U cannot be used together.");
    if (is_delete && is_batch) refuse("-b and -D cannot be used together.");
    if (is_update_file && is_batch) refuse("-b and -U cannot be used together.");
    if (has_iterations && cmd.kind != hash_kind::sha512_pbkdf2)
        refuse("-I applies to -H sha512-pbkdf2 only.");

    const auto left = args.size() - i;
    const auto positional = [&](std::size_t k) { return std::string{args[i + k]}; };
    if (is_create) {
        if (left != (is_batch ? 3u : 2u))
            refuse(is_batch ? "-c argument given but password file, username, or password missing."
                            : "-c argument given but password file or username missing.");
        cmd.what = passwd_command::action::create;
    } else if (is_delete) {
        if (left != 2) refuse("-D argument given but password file or username missing.");
        cmd.what = passwd_command::action::remove;
    } else if (is_update_file) {
        if (left != 1) refuse("-U argument given but password file missing.");
        cmd.what = passwd_command::action::hash_plain_text;
        cmd.file = positional(0);
        return cmd;
    } else if (left != (is_batch ? 3u : 2u)) {
        show_usage();
    }
    cmd.file = positional(0);
    cmd.username = positional(1);
    if (is_batch) cmd.password = positional(2);
    return cmd;
}

}  // namespace mqttd::auth
