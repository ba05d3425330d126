// UTF-8 string validation (section 1.5.3).
#include "protocol/utf8.hpp"

#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"
#include "protocol/errc.hpp"

namespace protocol = mqttd::protocol;
using protocol::errc;
using namespace std::string_view_literals;

TEST_CASE("utf8: well-formed strings pass, from 1 to 4 bytes per code point") {
    CHECK_FALSE(protocol::validate_utf8(""));
    CHECK_FALSE(protocol::validate_utf8("plain ascii / + #"));
    CHECK_FALSE(protocol::validate_utf8("\x7F"));          // U+007F, last 1-byte form
    CHECK_FALSE(protocol::validate_utf8("\xC2\x80"));      // U+0080, first 2-byte form
    CHECK_FALSE(protocol::validate_utf8("caf\xC3\xA9"));   // é
    CHECK_FALSE(protocol::validate_utf8("\xDF\xBF"));      // U+07FF
    CHECK_FALSE(protocol::validate_utf8("\xE0\xA0\x80"));  // U+0800
    CHECK_FALSE(protocol::validate_utf8("\xED\x9F\xBF"));  // U+D7FF, just below the surrogates
    CHECK_FALSE(protocol::validate_utf8("\xEE\x80\x80"));  // U+E000, just above them
    CHECK_FALSE(
        protocol::validate_utf8("\xEF\xBB\xBF"
                                "bom"));                       // U+FEFF must not be stripped [MQTT-1.5.3-3]
    CHECK_FALSE(protocol::validate_utf8("\xEF\xBF\xBF"));      // U+FFFF non-character: allowed
    CHECK_FALSE(protocol::validate_utf8("\xF0\x90\x80\x80"));  // U+10000
    CHECK_FALSE(protocol::validate_utf8("\xF0\x9F\x98\x80"));  // emoji
    CHECK_FALSE(protocol::validate_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
    CHECK_FALSE(protocol::validate_utf8("\x01\x1F"));          // controls: discouraged, not forbidden
}

TEST_CASE("utf8: ill-formed sequences are invalid_utf8 [MQTT-1.5.3-1]") {
    CHECK(protocol::validate_utf8("\x80") == errc::invalid_utf8);  // lone continuation
    CHECK(protocol::validate_utf8("a\xBF") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xC3") == errc::invalid_utf8);  // cut short
    CHECK(protocol::validate_utf8("\xE2\x82") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xF0\x9F\x98") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xC3\x28") == errc::invalid_utf8);  // bad continuation
    CHECK(protocol::validate_utf8("\xE2\x28\xA1") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xC0\xAF") == errc::invalid_utf8);  // overlong '/'
    CHECK(protocol::validate_utf8("\xC1\xBF") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xE0\x80\xAF") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xF0\x80\x80\xAF") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xF4\x90\x80\x80") == errc::invalid_utf8);  // U+110000
    CHECK(protocol::validate_utf8("\xF5\x80\x80\x80") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xF8\x88\x80\x80\x80") == errc::invalid_utf8);  // 5-byte form
    CHECK(protocol::validate_utf8("\xFE") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\xFF") == errc::invalid_utf8);
}

TEST_CASE("utf8: surrogates U+D800..U+DFFF are rejected [MQTT-1.5.3-1]") {
    CHECK(protocol::validate_utf8("\xED\xA0\x80") == errc::utf8_surrogate);  // U+D800
    CHECK(protocol::validate_utf8("\xED\xBF\xBF") == errc::utf8_surrogate);  // U+DFFF
    CHECK(protocol::validate_utf8("ok\xED\xB0\x80") == errc::utf8_surrogate);
}

TEST_CASE("utf8: U+0000 is rejected, also in an overlong form [MQTT-1.5.3-2]") {
    CHECK(protocol::validate_utf8("a\0b"sv) == errc::utf8_null_character);
    CHECK(protocol::validate_utf8("\0"sv) == errc::utf8_null_character);
    CHECK(protocol::validate_utf8("\xC0\x80") == errc::invalid_utf8);  // overlong NUL is still ill-formed
}

TEST_CASE("utf8: at most 65535 bytes (section 1.5.3)") {
    const std::string longest(65535, 'a');
    CHECK_FALSE(protocol::validate_utf8(longest));
    CHECK(protocol::validate_utf8(longest + "a") == errc::string_too_long);
}

TEST_CASE("utf8: the first broken rule is reported") {
    CHECK(protocol::validate_utf8("\xED\xA0\x80\xFF") == errc::utf8_surrogate);
    CHECK(protocol::validate_utf8("\xFF\xED\xA0\x80") == errc::invalid_utf8);
    CHECK(protocol::validate_utf8("\0\xFF"sv) == errc::utf8_null_character);
}
