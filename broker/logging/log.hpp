#pragma once
// One line per event, `key=value` style, to stderr. Warning: called from all threads; each line is written
// with a single write under a mutex so lines from different workers never interleave.

#include <ostream>
#include <sstream>
#include <string_view>

namespace mqttd::logging {

enum class level { error = 0, warning = 1, info = 2, debug = 3 };

void set_level(level l) noexcept;
bool is_enabled(level l) noexcept;
const char* to_string(level l) noexcept;

// A value that may hold spaces, quotes or control characters, written as "..." with \" \\ \n \r \t and
// \xNN escapes, so every line stays one parseable line of key=value pairs whatever a client sent. Every
// client-supplied string (client id, username, certificate CN, topic) goes through it:
//   << " client_id=" << quoted{id}
struct quoted {
    std::string_view text;
};
std::ostream& operator<<(std::ostream& out, const quoted& q);

// Builds one line and writes it when destroyed:  log_line{level::info} << "event=connect client_id=" << id;
class log_line {
public:
    explicit log_line(level l);
    ~log_line();
    log_line(const log_line&) = delete;
    log_line& operator=(const log_line&) = delete;

    template <class T>
    log_line& operator<<(const T& value) {
        if (is_enabled_) out_ << value;
        return *this;
    }

private:
    level level_;
    bool is_enabled_;
    std::ostringstream out_;
};

}  // namespace mqttd::logging
