#include "broker/logging/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace mqttd::logging {
namespace {

std::atomic<level> current_level{level::info};
std::mutex write_mutex;

void write_timestamp(std::ostringstream& out) {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(millis));
    out << text << frac;
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const quoted& q) {
    static constexpr char hex[] = "0123456789abcdef";
    out << '"';
    for (const char c : q.text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out << "\\\""; break;
        case '\\': out << "\\\\"; break;
        case '\n': out << "\\n"; break;
        case '\r': out << "\\r"; break;
        case '\t': out << "\\t"; break;
        default:
            // Any other control character (and DEL) as \xNN: a client's string can never start a new line
            // or move the cursor of whoever reads the log. Bytes >= 0x80 pass (UTF-8 was validated).
            if (byte < 0x20 || byte == 0x7f) {
                out << "\\x" << hex[byte >> 4] << hex[byte & 0xf];
            } else {
                out << c;
            }
        }
    }
    return out << '"';
}

void set_level(level l) noexcept { current_level.store(l, std::memory_order_relaxed); }

bool is_enabled(level l) noexcept {
    return static_cast<int>(l) <= static_cast<int>(current_level.load(std::memory_order_relaxed));
}

const char* to_string(level l) noexcept {
    switch (l) {
    case level::error: return "error";
    case level::warning: return "warning";
    case level::info: return "info";
    case level::debug: return "debug";
    }
    return "info";
}

log_line::log_line(level l) : level_{l}, is_enabled_{is_enabled(l)} {
    if (!is_enabled_) return;
    write_timestamp(out_);
    out_ << " level=" << to_string(level_) << ' ';
}

log_line::~log_line() {
    if (!is_enabled_) return;
    out_ << '\n';
    const auto text = out_.str();
    std::lock_guard lock{write_mutex};
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace mqttd::logging
