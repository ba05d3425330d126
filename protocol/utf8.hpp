#pragma once
// [MQTT-1.5.3] UTF-8 string rules: well-formed, no surrogates, no U+0000, at most 65535 bytes.

#include <string_view>
#include <system_error>

namespace mqttd::protocol {

// Returns the first rule the string breaks (a protocol::errc), or an empty error_code.
std::error_code validate_utf8(std::string_view s) noexcept;

}  // namespace mqttd::protocol
