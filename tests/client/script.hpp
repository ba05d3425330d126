#pragma once
// Runs a test script: a line-based conversation between named connections and a broker, checked byte by
// byte. The syntax is in README.md next to this file. Single-threaded: steps run in order on the calling
// thread, and each connection is read only when a step names it.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace mqttd::test_client {

struct script_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    std::chrono::milliseconds default_timeout{5000};
    bool is_verbose = true;  // echo each step and what arrived
};

// 0 when every step passed; 1 at the first failed step, after printing the line, what was expected and what
// arrived to `log`; 2 when the script itself is wrong (syntax, unknown connection).
int run_script(std::istream& in, const script_options& options, std::ostream& log);

}  // namespace mqttd::test_client
