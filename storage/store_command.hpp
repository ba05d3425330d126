#pragma once
// mqttd-store, the store inspector: its command line and its output, apart from main() so that the tests
// run it in-process. Opens the store read-only, so it works while a broker runs on the same directory.
//
//   mqttd-store DIR sessions   one line per stored session
//   mqttd-store DIR retained   one line per retained message
//   mqttd-store DIR export     everything, as one JSON document
// Exit codes: 0 done, 1 the store could not be read (the reason on err), 2 a bad command line.

#include <ostream>
#include <span>
#include <string_view>

namespace mqttd::storage {

// args: the arguments after the program name.
int run_store_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

std::string_view store_usage() noexcept;

}  // namespace mqttd::storage
