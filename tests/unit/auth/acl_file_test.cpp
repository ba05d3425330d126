#include "auth/acl_file.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace mqttd::auth;

namespace {

// One file exercising every rule kind; the table below reads it.
constexpr std::string_view acl_text = R"(# rules before any user line: clients without a username
topic read public/#
topic write anon/in
topic deny public/secret

user alice
topic readwrite alice/#
topic read sensors/+/temp
topic deny alice/private/#
topic $SYS/broker/#
topic deny devices/blocked/down/#
# a pattern in the middle of a user's section still applies to every client
pattern write devices/%c/up

user bob
topic write bob/out
topic read #

user carol smith
topic read carol/#

user admin
topic read users/admin/locked

pattern read devices/%c/down/#
pattern readwrite users/%u/#
pattern deny users/%u/locked
pattern read shared/%u-%c
)";

enum class op { publish, receive, subscribe };

struct row {
    const char* what;
    std::optional<std::string_view> username;
    std::string_view client_id;
    op operation;
    std::string_view topic;
    bool allowed;
};

const std::optional<std::string_view> anonymous = std::nullopt;

bool check(const acl_file& acl, const row& r) {
    const client_identity who{r.username, r.client_id};
    switch (r.operation) {
    case op::publish: return acl.may_publish(who, r.topic);
    case op::receive: return acl.may_receive(who, r.topic);
    case op::subscribe: return acl.may_subscribe(who, r.topic);
    }
    return false;
}

}  // namespace

TEST_CASE("acl_file: Mosquitto 2.0's rules, one case per row") {
    const auto acl = acl_file::parse(acl_text, "acl.conf");
    const row rows[] = {
        {"anonymous rule: write", anonymous, "c1", op::publish, "anon/in", true},
        {"anonymous rule: read only", anonymous, "c1", op::publish, "public/news", false},
        {"anonymous rule: read with #", anonymous, "c1", op::receive, "public/news/today", true},
        {"anonymous rule: # matches its parent", anonymous, "c1", op::receive, "public", true},
        {"anonymous deny over allow", anonymous, "c1", op::receive, "public/secret", false},
        {"anonymous: nothing else", anonymous, "c1", op::receive, "alice/x", false},
        {"anonymous rules are not a named user's", "zed", "c1", op::receive, "public/news", false},
        {"an empty username is a username, not anonymous", "", "c1", op::receive, "public/news", false},
        {"user readwrite #", "alice", "a1", op::publish, "alice/a/b", true},
        {"user readwrite #, read", "alice", "a1", op::receive, "alice/a", true},
        {"user deny over allow, write", "alice", "a1", op::publish, "alice/private/x", false},
        {"user deny # covers its parent", "alice", "a1", op::receive, "alice/private", false},
        {"user +", "alice", "a1", op::receive, "sensors/kitchen/temp", true},
        {"user + is one level", "alice", "a1", op::receive, "sensors/kitchen/x/temp", false},
        {"user + other last level", "alice", "a1", op::receive, "sensors/kitchen/humidity", false},
        {"user read only", "alice", "a1", op::publish, "sensors/kitchen/temp", false},
        {"no access word: readwrite", "alice", "a1", op::publish, "$SYS/broker/x", true},
        {"'$' rule matches '$' topic", "alice", "a1", op::receive, "$SYS/broker/uptime", true},
        {"'#' does not match '$' topics", "bob", "b1", op::receive, "$SYS/broker/uptime", false},
        {"'#' matches the rest", "bob", "b1", op::receive, "any/deep/topic", true},
        {"user write", "bob", "b1", op::publish, "bob/out", true},
        {"user write, other topic", "bob", "b1", op::publish, "bob/other", false},
        {"a user gets no anonymous rules", "bob", "b1", op::publish, "anon/in", false},
        {"username with a space", "carol smith", "c9", op::receive, "carol/x", true},
        {"pattern %c for a user", "alice", "dev1", op::publish, "devices/dev1/up", true},
        {"pattern %c, another client's topic", "alice", "dev1", op::publish, "devices/dev2/up", false},
        {"pattern %c for an anonymous client", anonymous, "dev7", op::publish, "devices/dev7/up", true},
        {"pattern %c with #", "dave", "dev1", op::receive, "devices/dev1/down/cmd", true},
        {"pattern %u", "dave", "d1", op::publish, "users/dave/inbox", true},
        {"pattern %u, another user", "dave", "d1", op::receive, "users/eve/inbox", false},
        {"pattern deny over pattern allow", "dave", "d1", op::receive, "users/dave/locked", false},
        {"pattern %u never applies without a username", anonymous, "d1", op::receive, "users//x", false},
        {"%u and %c inside a level", "dave", "k1", op::receive, "shared/dave-k1", true},
        {"a user's allow is final, over a pattern deny", "admin", "x", op::receive, "users/admin/locked",
         true},
        {"a user's deny is final, over a pattern allow", "alice", "blocked", op::receive,
         "devices/blocked/down/1", false},
        {"'+' in the client id: patterns refused", "dave", "a+b", op::publish, "users/dave/x", false},
        {"'#' in the username: patterns refused", "da#ve", "d1", op::publish, "users/da#ve/x", false},
        {"'+' in the client id: own rules still decide", "alice", "a+b", op::publish, "alice/x", true},
        {"'/' in the client id is fine (Mosquitto 2.0)", "dave", "x/y", op::publish, "devices/x/y/up", true},
        {"at_delivery: any filter may be subscribed", anonymous, "c1", op::subscribe, "#", true},
        {"at_delivery: even a denied one", "alice", "a1", op::subscribe, "alice/private/#", true},
    };
    for (const auto& r : rows) {
        CAPTURE(r.what);
        CHECK(check(acl, r) == r.allowed);
    }
}

TEST_CASE("acl_file: covering_rule grants a filter only inside a read rule and outside every deny rule") {
    const auto acl = acl_file::parse(acl_text, "acl.conf", subscribe_check::covering_rule);
    const row rows[] = {
        {"inside readwrite #", "alice", "a1", op::subscribe, "alice/+/x", true},
        {"the rule's own filter", "alice", "a1", op::subscribe, "alice/#", true},  // deny overlaps only part
        {"inside a deny rule", "alice", "a1", op::subscribe, "alice/private/#", false},
        {"'+' rule covers a literal", "alice", "a1", op::subscribe, "sensors/kitchen/temp", true},
        {"'+' rule does not cover '#'", "alice", "a1", op::subscribe, "sensors/#", false},
        {"covered by bob's read #, not by his write rule", "bob", "b1", op::subscribe, "bob/out", true},
        {"'#' rule", "bob", "b1", op::subscribe, "#", true},
        {"'#' rule does not cover '$' filters", "bob", "b1", op::subscribe, "$SYS/#", false},
        {"'$' rule", "alice", "a1", op::subscribe, "$SYS/broker/+", true},
        {"pattern %c", "alice", "dev1", op::subscribe, "devices/dev1/down/#", true},
        {"pattern %c, another client", "alice", "dev1", op::subscribe, "devices/dev2/down/#", false},
        {"anonymous: deny overlapping part of the filter", anonymous, "c1", op::subscribe, "public/#", true},
        {"anonymous: deny covering the filter", anonymous, "c1", op::subscribe, "public/secret", false},
        {"anonymous: write-only", anonymous, "c1", op::subscribe, "anon/in", false},
        {"anonymous: wider than any rule", anonymous, "c1", op::subscribe, "#", false},
    };
    for (const auto& r : rows) {
        CAPTURE(r.what);
        CHECK(check(acl, r) == r.allowed);
    }
    // Delivery is checked per message either way: "public/#" was granted, "public/secret" is not delivered.
    CHECK_FALSE(acl.may_receive({anonymous, "c1"}, "public/secret"));
}

TEST_CASE("acl_file: no rules, no access") {
    const auto acl = acl_file::parse("# nothing\n", "acl.conf");
    CHECK_FALSE(acl.may_publish({anonymous, "c"}, "a"));
    CHECK_FALSE(acl.may_receive({"alice", "c"}, "a"));
    const auto only_alice = acl_file::parse("user alice\ntopic a\n", "acl.conf");
    CHECK(only_alice.may_receive({"alice", "c"}, "a"));
    CHECK_FALSE(only_alice.may_receive({"bob", "c"}, "a"));
    CHECK_FALSE(only_alice.may_receive({anonymous, "c"}, "a"));
}

TEST_CASE("acl_file: spacing as Mosquitto reads it, tabs too; a filter may contain spaces") {
    const auto acl =
        acl_file::parse("user  alice  \ntopic\tread   my topic/x  \r\n  # indented comment\n", "acl.conf");
    CHECK(acl.may_receive({"alice", "c"}, "my topic/x"));
    CHECK_FALSE(acl.may_publish({"alice", "c"}, "my topic/x"));
}
