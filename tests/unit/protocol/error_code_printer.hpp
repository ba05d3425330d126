#pragma once
// Test support: doctest prints std::error_code as "mqtt:7 (truncated packet...)" when a CHECK fails,
// instead of failing to compile against its forward-declared ostream.

#include <string>
#include <system_error>

#include <doctest/doctest.h>

namespace doctest {
template <>
struct StringMaker<std::error_code> {
    static String convert(const std::error_code& ec) {
        const std::string text =
            std::string{ec.category().name()} + ':' + std::to_string(ec.value()) + " (" + ec.message() + ')';
        return String{text.c_str()};
    }
};
}  // namespace doctest
