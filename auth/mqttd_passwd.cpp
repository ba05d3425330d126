// mqttd-passwd: manages a password file in Mosquitto's format, as mosquitto_passwd does (same options,
// same messages), writing argon2id by default. Exit code 0 on success, 1 with a message on stderr otherwise.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <termios.h>
#include <unistd.h>

#include "auth/load_error.hpp"
#include "auth/passwd_command.hpp"
#include "auth/password_file_edit.hpp"
#include "auth/password_hash.hpp"
#include "auth/text_file.hpp"

namespace {

using namespace mqttd::auth;

// The terminal as it was before echo was turned off; restored on exit and on SIGINT/SIGTERM.
termios saved_terminal{};
volatile std::sig_atomic_t is_echo_off = 0;

void restore_terminal() noexcept {
    if (is_echo_off) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
    is_echo_off = 0;
}

extern "C" void on_interrupt(int signal) {
    restore_terminal();  // tcsetattr is async-signal-safe
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

// One line from stdin after printing prompt, without echo when stdin is a terminal (mosquitto_passwd's
// get_password). nullopt at end of input.
std::optional<std::string> read_password(const char* prompt) {
    std::cout << prompt << std::flush;
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_terminal) == 0) {
        termios quiet = saved_terminal;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        if (::tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0) is_echo_off = 1;
    }
    std::string line;
    const bool has_line = static_cast<bool>(std::getline(std::cin, line));
    const bool was_quiet = is_echo_off;
    restore_terminal();
    if (!was_quiet) std::cout << '\n';
    if (!has_line && line.empty()) return std::nullopt;
    if (line.ends_with('\r')) line.pop_back();
    return line;
}

// The password from -b, or asked twice on the terminal. Throws std::runtime_error with the message.
std::string obtain_password(const passwd_command& cmd) {
    if (cmd.password) {
        if (const auto problem = password_problem(*cmd.password); !problem.empty())
            throw std::runtime_error{problem};
        return *cmd.password;
    }
    const auto first = read_password("Password: ");
    if (!first || first->empty()) throw std::runtime_error{"Empty password."};
    if (const auto problem = password_problem(*first); !problem.empty()) throw std::runtime_error{problem};
    const auto second = read_password("Reenter password: ");
    if (!second || *second != *first) throw std::runtime_error{"Passwords do not match."};
    return *first;
}

std::string hash_for_file(const passwd_command& cmd, std::string_view password) {
    if (cmd.kind == hash_kind::sha512_pbkdf2)
        return password_hash::make_pbkdf2(password, cmd.iterations).encoded();
    return password_hash::make_argon2id(password).encoded();
}

std::string read_existing(const std::string& file) {
    try {
        return read_text_file(file);
    } catch (const load_error& e) {
        throw std::runtime_error{"Unable to open password file " + file + ". " + e.reason() + "."};
    }
}

int run(const passwd_command& cmd) {
    if (cmd.what == passwd_command::action::show_help) {
        std::cout << passwd_usage();
        return 0;
    }
    if (cmd.what != passwd_command::action::hash_plain_text) {
        if (const auto problem = username_problem(cmd.username); !problem.empty())
            throw std::runtime_error{problem};
    }
    if (cmd.kind == hash_kind::sha512_pbkdf2 && cmd.iterations < default_pbkdf2_iterations)
        std::cerr << "Warning: " << cmd.iterations << " iterations is below OWASP's guidance of "
                  << default_pbkdf2_iterations << " for PBKDF2-HMAC-SHA512.\n";

    switch (cmd.what) {
    case passwd_command::action::create: {
        const auto password = obtain_password(cmd);
        write_file_atomically(cmd.file, cmd.username + ":" + hash_for_file(cmd, password) + "\n");
        return 0;
    }
    case passwd_command::action::add_or_update: {
        const auto text = read_existing(cmd.file);
        const auto password = obtain_password(cmd);
        write_file_atomically(cmd.file, set_user(text, cmd.file, cmd.username, hash_for_file(cmd, password)));
        return 0;
    }
    case passwd_command::action::remove: {
        const auto updated = remove_user(read_existing(cmd.file), cmd.file, cmd.username);
        if (!updated) {
            std::cerr << "Warning: User " << cmd.username << " not found in password file.\n";
            return 1;
        }
        write_file_atomically(cmd.file, *updated);
        return 0;
    }
    case passwd_command::action::hash_plain_text: {
        const auto text = read_existing(cmd.file);
        write_file_atomically(cmd.file, hash_plain_text(text, cmd.file, [&](std::string_view password) {
                                  return hash_for_file(cmd, password);
                              }));
        return 0;
    }
    case passwd_command::action::show_help: break;
    }
    return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    const std::vector<std::string_view> args(argv + std::min(argc, 1), argv + argc);
    try {
        return run(parse_passwd_command(args));
    } catch (const usage_error& e) {
        if (*e.what() != '\0') std::cerr << "Error: " << e.what() << '\n';
        if (e.shows_usage()) std::cerr << passwd_usage();
        return 1;
    } catch (const load_error& e) {
        std::cerr << "Error: " << e.what() << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "Error: " << e.what() << '\n';
        return 1;
    }
}
