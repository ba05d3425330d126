#include "auth/base64.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mqttd::auth;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("base64: RFC 4648 section 10 vectors, with and without padding") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CAPTURE(plain);
        CHECK(base64_encode(bytes(plain), base64_padding::with) == encoded);
        const std::string unpadded = std::string{encoded}.substr(0, std::string{encoded}.find('='));
        CHECK(base64_encode(bytes(plain), base64_padding::without) == unpadded);
        CHECK(base64_decode(encoded) == bytes(plain));
        CHECK(base64_decode(unpadded) == bytes(plain));
    }
}

TEST_CASE("base64: the standard alphabet, '+' and '/' included") {
    const std::vector<std::uint8_t> all_ones{0xfb, 0xff, 0xbf};
    CHECK(base64_encode(all_ones, base64_padding::with) == "+/+/");
    CHECK(base64_decode("+/+/") == all_ones);
}

TEST_CASE("base64: malformed input is refused") {
    CHECK_FALSE(base64_decode("Zm9v!"));    // outside the alphabet
    CHECK_FALSE(base64_decode("Zm9-"));     // URL-safe alphabet is not Mosquitto's
    CHECK_FALSE(base64_decode("Z"));        // one character cannot hold a byte
    CHECK_FALSE(base64_decode("Zg=a"));     // padding in the middle
    CHECK_FALSE(base64_decode("Zh=="));     // non-zero unused bits: not a canonical encoding
    CHECK_FALSE(base64_decode("Zm9vYg="));  // padding that does not complete a group
}
