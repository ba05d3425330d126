#pragma once
// An ACL file in Mosquitto's syntax, with Mosquitto 2.0's meaning (src/security_default.c):
//
//   # comment                      blank lines and lines starting with '#' are skipped
//   topic [read|write|readwrite|deny] FILTER      no access word: readwrite
//   user NAME                      the topic lines after it belong to NAME (until the next user line);
//                                  topic lines before any user line belong to clients without a username
//   pattern [read|write|readwrite|deny] FILTER    for every client, wherever it appears in the file, with
//                                  %c replaced by the client id and %u by the username; a pattern
//                                  containing %u does not apply to a client without a username
//
// FILTER is the rest of the line and may contain spaces; "topic read" alone is a readwrite rule for the
// topic "read", as in Mosquitto (the load adds a warning). Filters match as subscriptions do [MQTT-4.7]: a
// rule starting with a wildcard matches no '$' topic.
//
// A check looks at the client's own rules (its user's, or the anonymous ones) first, then at the patterns.
// Within each set a matching deny rule wins over any allow rule; a client's own allow rule is final, so a
// pattern cannot take back what a user's topic line grants, nor a pattern grant what the client's own deny
// rule refuses. When the client's rules decide nothing and its username or client id contains '+' or '#',
// access is refused (patterns would expand to wildcards). No rule: no access.
//
// Immutable once loaded: every check is const and safe from any number of threads, and allocates nothing once
// the thread's pattern buffer has grown to the longest expansion. Per check (one per delivered message): one
// hash lookup of the username, then topic_matches() against that user's rules (a few) and each pattern
// (expanded into the thread-local buffer), so O((r + p) x topic length) for r rules of that user and p
// patterns, whatever the number of users in the file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mqttd::auth {

// Views, so that a check per delivered message copies nothing; they need to live only for the call.
struct client_identity {
    std::optional<std::string_view> username;  // nullopt: connected without one (an empty one is a username)
    std::string_view client_id;
};

enum class subscribe_check {
    // Mosquitto 2.0 and 2.1 grant every SUBSCRIBE (their ACL check returns success for it, "FIXME - implement
    // ACL subscription strings") and check read access per message at delivery. may_subscribe() is true.
    at_delivery,
    // Grant a filter only when one of the client's read rules covers all of it (filter_covers) and no deny
    // rule does; messages are still checked at delivery, so a granted filter that overlaps a denied topic
    // gets only what may_receive() allows.
    covering_rule,
};

class acl_file {
public:
    // Throws load_error naming file, line and reason, e.g.
    // `acl.conf:12: unknown access "rw" (expected read, write, readwrite or deny)`.
    static acl_file load(const std::filesystem::path& path,
                         subscribe_check check = subscribe_check::at_delivery);
    // file_name is only used in messages.
    static acl_file parse(std::string_view text, std::string_view file_name,
                          subscribe_check check = subscribe_check::at_delivery);

    // PUBLISH: write access to a topic name.
    bool may_publish(const client_identity& client, std::string_view topic) const;
    // Delivery (and retained messages on subscribe): read access to a topic name, checked per message.
    bool may_receive(const client_identity& client, std::string_view topic) const;
    // SUBSCRIBE of a valid filter, under the subscribe_check chosen at load.
    bool may_subscribe(const client_identity& client, std::string_view filter) const;

    // Lines the load accepted but an operator should hear about, as "file:line: text".
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }

private:
    enum class access : std::uint8_t { deny = 0, read = 1, write = 2, readwrite = 3 };
    struct rule {
        std::string filter;
        access allowed;
        bool uses_username = false;  // patterns only: contains %u
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    class parser;

    template <class Matches>
    bool decide(const client_identity& client, access wanted, Matches&& matches) const;

    std::unordered_map<std::string, std::vector<rule>, string_hash, std::equal_to<>> users_;
    std::vector<rule> anonymous_;
    std::vector<rule> patterns_;
    subscribe_check subscribe_check_ = subscribe_check::at_delivery;
    std::vector<std::string> warnings_;
};

}  // namespace mqttd::auth
