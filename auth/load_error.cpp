#include "auth/load_error.hpp"

#include <utility>

namespace mqttd::auth {
namespace {

std::string describe(const std::string& file, std::size_t line, const std::string& reason) {
    if (line == 0) return file + ": " + reason;
    return file + ":" + std::to_string(line) + ": " + reason;
}

}  // namespace

load_error::load_error(std::string file, std::size_t line, std::string reason)
    : std::runtime_error{describe(file, line, reason)},
      file_{std::move(file)},
      line_{line},
      reason_{std::move(reason)} {}

}  // namespace mqttd::auth
