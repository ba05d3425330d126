#pragma once
// The two comparisons an ACL needs beyond topic_matches(), and Mosquitto 2.0's pattern substitution.

#include <string>
#include <string_view>

namespace mqttd::auth {

// Does every topic that `filter` matches also match `rule`? Both are valid topic filters. Level by level:
// a rule's '#' covers whatever remains (nothing included: "a/#" covers "a"), its '+' covers one level of
// any kind except '#', a literal level covers only the same literal. A rule starting with a wildcard never
// covers a filter starting with '$' [MQTT-4.7.2-1]. So "a/#" covers "a/b/+" and "a/#", "a/+" covers "a/b"
// and "a/+" but not "a/#", and "#" covers "+/x" but not "$SYS/#". As mosquitto_sub_matches_acl() (2.1).
bool filter_covers(std::string_view rule, std::string_view filter) noexcept;

// Mosquitto 2.0's pattern lines: every "%c" becomes the client id and every "%u" the username, wherever
// they appear (not only as whole levels); out is overwritten. A caller without a username must skip
// patterns that contain "%u" rather than expand them.
void expand_pattern(std::string_view pattern, std::string_view client_id, std::string_view username,
                    std::string& out);

}  // namespace mqttd::auth
