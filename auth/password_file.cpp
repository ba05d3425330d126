#include "auth/password_file.hpp"

#include <map>
#include <utility>

#include <openssl/rand.h>

#include "auth/base64.hpp"
#include "auth/load_error.hpp"
#include "auth/text_file.hpp"

namespace mqttd::auth {
namespace {

struct entry {
    std::string username;
    password_hash hash;
    std::size_t line;
};

// The hash unknown users are checked against: one with the cost most users of the file have, so that the
// time an unknown user takes is the time most real users take. Its result is never used.
password_hash make_dummy(const std::vector<entry>& entries) {
    std::map<std::string, std::pair<std::size_t, const password_hash*>> by_cost;
    const password_hash* most_common = nullptr;
    std::size_t most = 0;
    for (const auto& e : entries) {
        auto& [count, first] = by_cost[e.hash.cost()];
        if (count++ == 0) first = &e.hash;
        if (count > most) {
            most = count;
            most_common = first;
        }
    }
    if (most_common) return *most_common;
    unsigned char secret[24];
    if (RAND_bytes(secret, sizeof secret) != 1) throw std::runtime_error{"RAND_bytes failed"};
    return password_hash::make_argon2id(base64_encode(secret, base64_padding::without));
}

}  // namespace

password_file password_file::load(const std::filesystem::path& path) {
    return parse(read_text_file(path), path.string());
}

password_file password_file::parse(std::string_view text, std::string_view file_name) {
    const std::string file{file_name};
    std::vector<entry> entries;
    line_cursor lines{text};
    std::string_view line;
    while (lines.next(line)) {
        const auto trimmed = trim_blanks(line);
        if (trimmed.empty() || trimmed.front() == '#') continue;
        const auto colon = trimmed.find(':');
        if (colon == std::string_view::npos)
            throw load_error{file, lines.number(), "expected username:hash, found no ':'"};
        const auto username = trim_blanks(trimmed.substr(0, colon));
        const auto hash = trim_blanks(trimmed.substr(colon + 1));
        if (username.empty()) throw load_error{file, lines.number(), "empty username"};
        if (hash.find(':') != std::string_view::npos)
            throw load_error{file, lines.number(), "unexpected ':' after the hash"};
        try {
            entries.push_back({std::string{username}, password_hash::parse(hash), lines.number()});
        } catch (const hash_format_error& e) {
            throw load_error{file, lines.number(), e.what()};
        }
    }

    password_file result{make_dummy(entries)};
    std::unordered_map<std::string_view, std::size_t> first_line;
    for (auto& e : entries) {
        const auto [seen, is_new] = first_line.emplace(e.username, e.line);
        if (!is_new)
            result.warnings_.push_back(file + ":" + std::to_string(e.line) + ": user \"" + e.username +
                                       "\" also on line " + std::to_string(seen->second) +
                                       "; this line wins, as in Mosquitto");
    }
    for (auto& e : entries) result.users_.insert_or_assign(std::move(e.username), std::move(e.hash));
    return result;
}

bool password_file::verify(std::string_view username, std::string_view password) const {
    const auto found = users_.find(username);
    if (found == users_.end()) {
        [[maybe_unused]] const bool ignored = dummy_.verify(password);
        return false;
    }
    return found->second.verify(password);
}

bool password_file::contains(std::string_view username) const {
    return users_.find(username) != users_.end();
}

}  // namespace mqttd::auth
