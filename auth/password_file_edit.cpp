#include "auth/password_file_edit.hpp"

#include "auth/load_error.hpp"
#include "auth/password_hash.hpp"
#include "auth/text_file.hpp"

namespace mqttd::auth {
namespace {

constexpr std::size_t max_string_size = 65535;  // [MQTT-1.5.3] what a CONNECT can carry

// One line of a password file, with its own line ending kept so that untouched lines are copied exactly.
struct raw_line {
    std::string_view text;     // with "\n" when it had one
    std::string_view content;  // without "\r\n" / "\n"
};

// Calls f(line, number) for each line; f returns the text to write in its place.
template <class F>
std::string rewrite_lines(std::string_view text, F&& f) {
    std::string out;
    out.reserve(text.size());
    std::size_t number = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const auto size = newline == std::string_view::npos ? text.size() : newline + 1;
        raw_line line{text.substr(0, size), text.substr(0, size)};
        if (line.content.ends_with('\n')) line.content.remove_suffix(1);
        if (line.content.ends_with('\r')) line.content.remove_suffix(1);
        out += f(line, ++number);
        text.remove_prefix(size);
    }
    return out;
}

struct entry {
    std::string_view username;
    std::string_view password;
};

// nullopt for blank and comment lines, which are kept as they are.
std::optional<entry> parse_entry(std::string_view content, std::string_view file_name, std::size_t number) {
    const auto trimmed = trim_blanks(content);
    if (trimmed.empty() || trimmed.front() == '#') return std::nullopt;
    const auto colon = trimmed.find(':');
    entry e;
    if (colon != std::string_view::npos) {
        e.username = trim_blanks(trimmed.substr(0, colon));
        e.password = trim_blanks(trimmed.substr(colon + 1));
    }
    if (e.username.empty() || e.password.empty())
        throw load_error{std::string{file_name}, number, "corrupt line: expected username:password"};
    return e;
}

std::string entry_line(std::string_view username, std::string_view encoded_hash) {
    return std::string{username} + ":" + std::string{encoded_hash} + "\n";
}

// The appended line must not run on from a last line that has no newline.
void append_line(std::string& text, std::string_view line) {
    if (!text.empty() && !text.ends_with('\n')) text += '\n';
    text += line;
}

}  // namespace

std::string username_problem(std::string_view username) {
    if (username.empty()) return "Username must not be empty.";
    if (username.size() > max_string_size) return "Username must be less than 65536 characters long.";
    for (const char c : username) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return "Username must not contain control characters.";
    }
    if (username.find(':') != std::string_view::npos) return "Username must not contain the ':' character.";
    return {};
}

std::string password_problem(std::string_view password) {
    if (password.empty()) return "Empty password.";
    if (password.size() > max_string_size) return "Password must be less than 65536 characters long.";
    return {};
}

std::string set_user(std::string_view text, std::string_view file_name, std::string_view username,
                     std::string_view encoded_hash) {
    bool is_found = false;
    auto out = rewrite_lines(text, [&](const raw_line& line, std::size_t number) -> std::string {
        const auto e = parse_entry(line.content, file_name, number);
        if (!e || e->username != username) return std::string{line.text};
        is_found = true;
        return entry_line(username, encoded_hash);
    });
    if (!is_found) append_line(out, entry_line(username, encoded_hash));
    return out;
}

std::optional<std::string> remove_user(std::string_view text, std::string_view file_name,
                                       std::string_view username) {
    bool is_found = false;
    auto out = rewrite_lines(text, [&](const raw_line& line, std::size_t number) -> std::string {
        const auto e = parse_entry(line.content, file_name, number);
        if (!e || e->username != username) return std::string{line.text};
        is_found = true;
        return {};
    });
    if (!is_found) return std::nullopt;
    return out;
}

std::string hash_plain_text(std::string_view text, std::string_view file_name,
                            const std::function<std::string(std::string_view password)>& hash) {
    return rewrite_lines(text, [&](const raw_line& line, std::size_t number) -> std::string {
        const auto e = parse_entry(line.content, file_name, number);
        if (!e) return std::string{line.text};
        try {
            password_hash::parse(e->password);
            return std::string{line.text};
        } catch (const hash_format_error&) {
            return entry_line(e->username, hash(e->password));
        }
    });
}

}  // namespace mqttd::auth
