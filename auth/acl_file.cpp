#include "auth/acl_file.hpp"

#include <algorithm>
#include <utility>

#include "auth/acl_match.hpp"
#include "auth/load_error.hpp"
#include "auth/text_file.hpp"
#include "protocol/topic.hpp"
#include "protocol/utf8.hpp"

namespace mqttd::auth {
namespace {

constexpr std::string_view spaces = " \t";

// The first word of s (up to a space or tab), and what follows it with leading spaces and tabs removed.
std::pair<std::string_view, std::string_view> split_word(std::string_view s) noexcept {
    const auto end = s.find_first_of(spaces);
    if (end == std::string_view::npos) return {s, {}};
    const auto rest = s.find_first_not_of(spaces, end);
    return {s.substr(0, end), rest == std::string_view::npos ? std::string_view{} : s.substr(rest)};
}

std::string quoted(std::string_view s) { return "\"" + std::string{s} + "\""; }

}  // namespace

class acl_file::parser {
public:
    parser(acl_file& acl, std::string_view file_name) : acl_{acl}, file_{file_name} {}

    void parse(std::string_view text) {
        line_cursor lines{text};
        std::string_view line;
        while (lines.next(line)) {
            line_ = lines.number();
            const auto trimmed = trim_blanks(line);
            if (trimmed.empty() || trimmed.front() == '#') continue;
            const auto [keyword, rest] = split_word(trimmed);
            if (keyword == "topic" || keyword == "pattern") {
                add_rule(keyword, rest);
            } else if (keyword == "user") {
                if (rest.empty()) fail("missing username after \"user\"");
                user_ = std::string{rest};
                has_user_ = true;
            } else {
                fail("unknown keyword " + quoted(keyword) + " (expected user, topic or pattern)");
            }
        }
        // Mosquitto puts deny rules at the front of each list as it reads them, so they win.
        const auto deny_first = [](std::vector<rule>& rules) {
            std::stable_partition(rules.begin(), rules.end(),
                                  [](const rule& r) { return r.allowed == access::deny; });
        };
        deny_first(acl_.anonymous_);
        deny_first(acl_.patterns_);
        for (auto& [name, rules] : acl_.users_) deny_first(rules);
    }

private:
    [[noreturn]] void fail(std::string reason) const { throw load_error{file_, line_, std::move(reason)}; }

    void warn(std::string text) {
        acl_.warnings_.push_back(file_ + ":" + std::to_string(line_) + ": " + text);
    }

    void add_rule(std::string_view keyword, std::string_view rest) {
        if (rest.empty()) fail("missing topic filter after " + quoted(keyword));
        // Mosquitto: with one word left it is the filter (readwrite), with more the first is the access.
        auto [first, filter] = split_word(rest);
        access allowed = access::readwrite;
        if (filter.empty()) {
            filter = first;
            if (first == "read" || first == "write" || first == "readwrite" || first == "deny")
                warn(std::string{keyword} + " " + std::string{first} + " is a readwrite rule for the topic " +
                     quoted(first) + ", as in Mosquitto; add a filter to make " + quoted(first) +
                     " the access");
        } else {
            allowed = parse_access(first);
        }
        check_filter(filter);
        const bool is_pattern = keyword == "pattern";
        const bool uses_client_id = filter.find("%c") != std::string_view::npos;
        const bool uses_username = filter.find("%u") != std::string_view::npos;
        if (is_pattern && !uses_client_id && !uses_username)
            warn("pattern " + quoted(filter) + " contains neither %c nor %u, so it applies to every client");
        if (!is_pattern && (uses_client_id || uses_username))
            warn("topic " + quoted(filter) + " is matched literally: only pattern lines replace %c and %u");

        rule r{std::string{filter}, allowed, is_pattern && uses_username};
        if (is_pattern)
            acl_.patterns_.push_back(std::move(r));
        else if (has_user_)
            acl_.users_[user_].push_back(std::move(r));
        else
            acl_.anonymous_.push_back(std::move(r));
    }

    access parse_access(std::string_view word) const {
        if (word == "read") return access::read;
        if (word == "write") return access::write;
        if (word == "readwrite") return access::readwrite;
        if (word == "deny") return access::deny;
        fail("unknown access " + quoted(word) + " (expected read, write, readwrite or deny)");
    }

    void check_filter(std::string_view filter) const {
        auto ec = protocol::validate_utf8(filter);
        if (!ec) ec = protocol::validate_topic_filter(filter);
        if (ec) fail("invalid topic filter " + quoted(filter) + ": " + ec.message());
    }

    acl_file& acl_;
    std::string file_;
    std::size_t line_ = 0;
    std::string user_;
    bool has_user_ = false;
};

acl_file acl_file::load(const std::filesystem::path& path, subscribe_check check) {
    return parse(read_text_file(path), path.string(), check);
}

acl_file acl_file::parse(std::string_view text, std::string_view file_name, subscribe_check check) {
    acl_file acl;
    acl.subscribe_check_ = check;
    parser{acl, file_name}.parse(text);
    return acl;
}

template <class Matches>
bool acl_file::decide(const client_identity& client, access wanted, Matches&& matches) const {
    const auto allows = [wanted](access allowed) {
        return (static_cast<unsigned>(allowed) & static_cast<unsigned>(wanted)) != 0;
    };
    const std::vector<rule>* own = &anonymous_;
    if (client.username) {
        const auto found = users_.find(*client.username);
        own = found == users_.end() ? nullptr : &found->second;
    }
    if (own) {
        for (const auto& r : *own) {  // deny rules first
            if (!matches(r.filter)) continue;
            if (r.allowed == access::deny) return false;
            if (allows(r.allowed)) return true;
        }
    }
    if (patterns_.empty()) return false;
    // As Mosquitto: a '+' or '#' in a client id or username would turn a pattern into a wildcard.
    const auto is_dangerous = [](std::string_view s) {
        return s.find_first_of("+#") != std::string_view::npos;
    };
    if ((client.username && is_dangerous(*client.username)) || is_dangerous(client.client_id)) return false;
    const std::string_view username = client.username.value_or(std::string_view{});
    thread_local std::string expanded;
    for (const auto& p : patterns_) {  // deny patterns first
        if (p.uses_username && !client.username) continue;
        expand_pattern(p.filter, client.client_id, username, expanded);
        if (!matches(expanded)) continue;
        if (p.allowed == access::deny) return false;
        if (allows(p.allowed)) return true;
    }
    return false;
}

bool acl_file::may_publish(const client_identity& client, std::string_view topic) const {
    return decide(client, access::write,
                  [topic](std::string_view filter) { return protocol::topic_matches(filter, topic); });
}

bool acl_file::may_receive(const client_identity& client, std::string_view topic) const {
    return decide(client, access::read,
                  [topic](std::string_view filter) { return protocol::topic_matches(filter, topic); });
}

bool acl_file::may_subscribe(const client_identity& client, std::string_view filter) const {
    if (subscribe_check_ == subscribe_check::at_delivery) return true;
    return decide(client, access::read,
                  [filter](std::string_view rule) { return filter_covers(rule, filter); });
}

}  // namespace mqttd::auth
