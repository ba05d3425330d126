#pragma once
// mqttd's version, from project(VERSION) in the top CMakeLists.txt: one number for --version, $SYS/broker/version,
// the admin API and the Debian package.

#include <string_view>

namespace mqttd {

inline constexpr std::string_view version = MQTTD_VERSION;

}  // namespace mqttd
