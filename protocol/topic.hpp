#pragma once
// [MQTT-4.7] topic name and topic filter rules, and filter matching. Strings are assumed valid UTF-8
// (validate_utf8 first).

#include <string_view>
#include <system_error>

namespace mqttd::protocol {

// Topic names (PUBLISH, will): non-empty, no '+' or '#'.
std::error_code validate_topic_name(std::string_view topic) noexcept;

// Topic filters (SUBSCRIBE, UNSUBSCRIBE): non-empty; '#' alone in the last level; '+' alone in its level.
std::error_code validate_topic_filter(std::string_view filter) noexcept;

// Does a valid filter match a valid topic name? Topics starting with '$' are not matched by a filter whose
// first level is a wildcard [MQTT-4.7.2-1].
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace mqttd::protocol
