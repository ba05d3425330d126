#include "broker/logging/log.hpp"

#include <sstream>

#include <doctest/doctest.h>

using mqttd::logging::quoted;

namespace {

std::string render(std::string_view s) {
    std::ostringstream out;
    out << quoted{s};
    return out.str();
}

}  // namespace

TEST_CASE("log: quoted escapes quotes and backslashes") {
    CHECK(render(R"(say "hi" \o/)") == R"("say \"hi\" \\o/")");
}

TEST_CASE("log: quoted keeps a client's string on one line: control characters are escaped") {
    // A client id with a newline must not forge a second log line.
    CHECK(render("x\n2026-01-01T00:00:00.000Z level=info event=connect client_id=admin") ==
          R"("x\n2026-01-01T00:00:00.000Z level=info event=connect client_id=admin")");
    CHECK(render(std::string_view{"a\r\tb\x01\x1b[2J\x7f", 10}) == R"("a\r\tb\x01\x1b[2J\x7f")");
    CHECK(render("caf\xc3\xa9") == "\"caf\xc3\xa9\"");  // UTF-8 passes untouched
}
