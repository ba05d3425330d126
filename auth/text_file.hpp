#pragma once
// The small text files auth reads and mqttd-passwd rewrites: read whole, walked line by line, replaced
// atomically. Files of users and rules are kilobytes to a few megabytes, so reading them whole is fine.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace mqttd::auth {

// The whole file. Throws load_error{path, 0, reason} when it cannot be opened or read.
std::string read_text_file(const std::filesystem::path& path);

// Walks text line by line. A line is returned without its "\n" or "\r\n"; a last line without a newline
// counts, an empty text has no lines. Numbers start at 1.
class line_cursor {
public:
    explicit line_cursor(std::string_view text) noexcept : rest_{text} {}

    // False when there are no more lines.
    bool next(std::string_view& line) noexcept;
    std::size_t number() const noexcept { return number_; }

private:
    std::string_view rest_;
    std::size_t number_ = 0;
};

// Leading and trailing spaces, tabs, CR, LF, VT and FF removed (Mosquitto's misc__trimblanks).
std::string_view trim_blanks(std::string_view s) noexcept;

// Replaces path with text so that a reader sees the old file or the new one, never a part: a temporary file
// in the same directory, fsync, rename over path, fsync of the directory. A symbolic link is followed, so the
// file it names is replaced. An existing file keeps its mode (and, where permitted, its owner); a new one
// gets new_file_mode. Throws std::system_error naming the path on failure, leaving path as it was.
void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           std::filesystem::perms new_file_mode = std::filesystem::perms::owner_read |
                                                                  std::filesystem::perms::owner_write);

}  // namespace mqttd::auth
