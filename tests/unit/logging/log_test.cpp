#include "broker/logging/log.hpp"

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

using mqttd::logging::level;
using mqttd::logging::log_line;
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

// Lines logged by several threads at once must come out whole, one per line, in order per thread, none lost.
// stderr goes to a pipe here, as under a supervisor; the reader drains it while the threads log. Long lines (past
// PIPE_BUF, which a pipe may take in parts) are mixed in. (Checked to fail when a line is written in pieces.)
TEST_CASE("log: lines logged by 4 threads at once come out whole, none lost") {
    constexpr int threads = 4, lines = 3000;
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const int saved_stderr = ::dup(STDERR_FILENO);
    REQUIRE(saved_stderr >= 0);
    REQUIRE(::dup2(pipe_fds[1], STDERR_FILENO) == STDERR_FILENO);
    ::close(pipe_fds[1]);
    std::string output;
    std::thread reader{[&] {
        char chunk[65536];
        for (ssize_t n; (n = ::read(pipe_fds[0], chunk, sizeof chunk)) > 0;) output.append(chunk, static_cast<std::size_t>(n));
    }};
    const std::string long_text(6000, 'x');
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([t, &long_text] {
            for (int i = 0; i < lines; ++i) {
                if (i % 500 == 0) {
                    log_line{level::error} << "event=test_long thread=" << t << " n=" << i << " text=" << long_text;
                } else {
                    log_line{level::error} << "event=test thread=" << t << " n=" << i << " end";
                }
            }
        });
    for (auto& w : writers) w.join();
    ::dup2(saved_stderr, STDERR_FILENO);  // the pipe's last write end closes: the reader sees its end
    ::close(saved_stderr);
    reader.join();
    ::close(pipe_fds[0]);

    std::map<int, int> next;  // per thread: the n of its next line, in order
    std::istringstream in{output};
    int count = 0;
    for (std::string line; std::getline(in, line); ++count) {
        int t = -1, n = -1;
        const bool is_long = line.find(" event=test_long ") != std::string::npos;
        const auto at = line.find(is_long ? "event=test_long thread=" : "event=test thread=");
        REQUIRE_MESSAGE(at != std::string::npos, line.substr(0, 200));
        REQUIRE(std::sscanf(line.c_str() + at, is_long ? "event=test_long thread=%d n=%d" : "event=test thread=%d n=%d", &t,
                            &n) == 2);
        CHECK(n == next[t]++);
        if (is_long) {
            CHECK(line.ends_with(" text=" + long_text));
        } else {
            CHECK(line.ends_with(" end"));
        }
    }
    CHECK(count == threads * lines);
}
