#pragma once
// Base64 with the standard alphabet (RFC 4648 section 4), as Mosquitto's password files and PHC strings use
// it. Mosquitto writes '=' padding, argon2's PHC strings leave it out; decode() accepts both.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mqttd::auth {

enum class base64_padding { with, without };

std::string base64_encode(std::span<const std::uint8_t> bytes, base64_padding padding);

// nullopt for a character outside the alphabet, misplaced padding, or a length no encoding has.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace mqttd::auth
