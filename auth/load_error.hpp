#pragma once
// The error every auth file loader throws: which file, which line, and what was wrong with it. what() is the
// line an operator reads, e.g. `acl.conf:12: unknown access "rw" (expected read, write, readwrite or deny)`.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace mqttd::auth {

class load_error : public std::runtime_error {
public:
    // line 0: the file as a whole (cannot be opened or read); what() is then "file: reason".
    load_error(std::string file, std::size_t line, std::string reason);

    const std::string& file() const noexcept { return file_; }
    std::size_t line() const noexcept { return line_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    std::string file_;
    std::size_t line_;
    std::string reason_;
};

}  // namespace mqttd::auth
