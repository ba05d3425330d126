#include "protocol/utf8.hpp"

#include <cstddef>
#include <cstdint>

#include "protocol/errc.hpp"

namespace mqttd::protocol {

// Section 1.5.3: well-formed UTF-8 as RFC 3629 defines it: no overlong forms, nothing above U+10FFFF, and
// [MQTT-1.5.3-1] no surrogates, [MQTT-1.5.3-2] no U+0000. Other code points the spec only discourages
// (controls, non-characters) are accepted: the spec lets a receiver close for them but does not require it.
std::error_code validate_utf8(std::string_view s) noexcept {
    if (s.size() > 65535) return errc::string_too_long;
    const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const std::uint32_t lead = bytes[i];
        if (lead < 0x80) {
            if (lead == 0) return errc::utf8_null_character;
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code_point = 0;
        std::uint32_t smallest = 0;  // below this the form is overlong
        if ((lead & 0xE0) == 0xC0) {
            length = 2, code_point = lead & 0x1F, smallest = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3, code_point = lead & 0x0F, smallest = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4, code_point = lead & 0x07, smallest = 0x10000;
        } else {
            return errc::invalid_utf8;  // a stray continuation byte, or 0xF8..0xFF
        }
        if (n - i < length) return errc::invalid_utf8;
        for (std::size_t k = 1; k < length; ++k) {
            const std::uint32_t next = bytes[i + k];
            if ((next & 0xC0) != 0x80) return errc::invalid_utf8;
            code_point = (code_point << 6) | (next & 0x3F);
        }
        if (code_point < smallest || code_point > 0x10FFFF) return errc::invalid_utf8;
        if (code_point >= 0xD800 && code_point <= 0xDFFF) return errc::utf8_surrogate;
        i += length;
    }
    return {};
}

}  // namespace mqttd::protocol
