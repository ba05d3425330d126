#pragma once
// Internal to protocol/: a bounds-checked cursor over one packet's body (variable header and payload).
// The body is exactly the remaining length, so a field that runs past its end is truncated_packet
// (section 2.2.3). Never copies: strings and binary fields are views into the body.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "protocol/errc.hpp"
#include "protocol/packet.hpp"
#include "protocol/utf8.hpp"

namespace mqttd::protocol::detail {

class reader {
public:
    explicit reader(bytes_view body) noexcept : body_{body} {}

    bool is_empty() const noexcept { return pos_ == body_.size(); }
    std::size_t remaining() const noexcept { return body_.size() - pos_; }

    std::error_code read_u8(std::uint8_t& out) noexcept {
        if (remaining() < 1) return errc::truncated_packet;
        out = body_[pos_++];
        return {};
    }

    // Two-byte integers are big-endian (section 1.5.2).
    std::error_code read_u16(std::uint16_t& out) noexcept {
        if (remaining() < 2) return errc::truncated_packet;
        out = static_cast<std::uint16_t>((body_[pos_] << 8) | body_[pos_ + 1]);
        pos_ += 2;
        return {};
    }

    // A two-byte length followed by that many bytes (will message, password).
    std::error_code read_binary(bytes_view& out) noexcept {
        std::uint16_t length = 0;
        if (auto ec = read_u16(length)) return ec;
        if (remaining() < length) return errc::truncated_packet;
        out = body_.subspan(pos_, length);
        pos_ += length;
        return {};
    }

    // A length-prefixed UTF-8 string, validated before the caller sees it (section 1.5.3).
    std::error_code read_string(std::string_view& out) noexcept {
        bytes_view raw;
        if (auto ec = read_binary(raw)) return ec;
        out = std::string_view{reinterpret_cast<const char*>(raw.data()), raw.size()};
        return validate_utf8(out);
    }

    // Everything up to the end of the body (PUBLISH payload).
    bytes_view read_rest() noexcept {
        const auto rest = body_.subspan(pos_);
        pos_ = body_.size();
        return rest;
    }

private:
    bytes_view body_;
    std::size_t pos_ = 0;
};

}  // namespace mqttd::protocol::detail
