#include "auth/base64.hpp"

#include <array>

namespace mqttd::auth {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_values() {
    std::array<std::int8_t, 256> values{};
    values.fill(-1);
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        values[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return values;
}
constexpr auto values = make_values();

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes, base64_padding padding) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t group =
            std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[group >> shift & 0x3f];
    }
    const std::size_t left = bytes.size() - i;
    if (left == 0) return out;
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (left == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
    out += alphabet[group >> 18 & 0x3f];
    out += alphabet[group >> 12 & 0x3f];
    if (left == 2) out += alphabet[group >> 6 & 0x3f];
    if (padding == base64_padding::with) out.append(3 - left, '=');
    return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    if (text.size() % 4 == 0 && !text.empty()) {
        // Padding only closes the last group: "xx==" or "xxx=".
        if (text.ends_with("=="))
            text.remove_suffix(2);
        else if (text.ends_with('='))
            text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) return std::nullopt;  // 6 bits cannot hold a byte
    std::vector<std::uint8_t> out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (const char c : text) {
        const auto value = values[static_cast<unsigned char>(c)];
        if (value < 0) return std::nullopt;
        bits = bits << 6 | static_cast<std::uint32_t>(value);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<std::uint8_t>(bits >> bit_count & 0xff));
        }
    }
    // A canonical encoding leaves the unused low bits of its last character zero.
    if ((bits & ((1u << bit_count) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace mqttd::auth
