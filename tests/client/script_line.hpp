#pragma once
// The text layer of the script language: splitting lines into words, and reading `key=value` arguments.
// Words are separated by blanks; double quotes group blanks into a word ("a b", payload="a b") and allow
// \" and \\. A line whose first word starts with '#', or a word that is exactly '#', starts a comment, so
// the filter '#:1' is a word while '# note' is a comment; quote a lone filter: "#".
// Pure parsing: no I/O, no connections. Errors are thrown as script_error with the line number.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace mqttd::test_client {

class script_error : public std::runtime_error {
public:
    script_error(std::size_t line, const std::string& message)
        : std::runtime_error{"line " + std::to_string(line) + ": " + message}, line_{line} {}
    std::size_t line() const noexcept { return line_; }

private:
    std::size_t line_;
};

struct script_line {
    std::size_t number = 0;
    std::string text;                 // as written, for messages
    std::vector<std::string> words;   // never empty
};

std::vector<script_line> split_script(std::istream& in);

// "500ms", "2s", "1.5s" or a bare number of milliseconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// "30 02 00 00", "30020000" or a mix; nullopt on anything else.
std::optional<std::vector<std::uint8_t>> parse_hex(const std::string& text);

// The words after a command: `key=value` pairs and plain positional words, in order. Every key must be
// read by the command (finish() reports the ones that were not), so a typo never silently passes.
class arguments {
public:
    // resolve_id turns the NAME of "$NAME" into a packet id, or throws.
    using id_resolver = std::function<std::uint16_t(const std::string& name)>;
    arguments(const script_line& line, std::size_t first_word, id_resolver resolve_id);

    bool has(const std::string& key) const;
    std::optional<std::string> text(const std::string& key) const;
    std::string required_text(const std::string& key) const;
    std::optional<std::uint64_t> number(const std::string& key, std::uint64_t max) const;
    std::optional<bool> flag(const std::string& key) const;  // 0/1
    std::optional<std::uint16_t> packet_id(const std::string& key) const;  // number or $NAME
    std::optional<std::chrono::milliseconds> duration(const std::string& key) const;
    std::optional<std::vector<std::uint8_t>> hex(const std::string& key) const;

    const std::vector<std::string>& positional() const noexcept { return positional_; }

    // Throws for keys no one read, then for positional words when the command takes none.
    void finish(bool takes_positional = false) const;

    [[noreturn]] void fail(const std::string& message) const;

private:
    std::size_t line_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
    id_resolver resolve_id_;
    mutable std::set<std::string> used_;
};

}  // namespace mqttd::test_client
