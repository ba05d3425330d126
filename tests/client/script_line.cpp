#include "script_line.hpp"

#include <cctype>
#include <charconv>
#include <istream>

namespace mqttd::test_client {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string> split_words(const std::string& text, std::size_t line) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_blank(text[i])) ++i;
        if (i == text.size()) break;
        const bool at_comment =
            text[i] == '#' && (words.empty() || i + 1 == text.size() || is_blank(text[i + 1]));
        if (at_comment) break;
        std::string word;
        bool in_quotes = false;
        for (; i < text.size() && (in_quotes || !is_blank(text[i])); ++i) {
            const char c = text[i];
            if (c == '"') {
                in_quotes = !in_quotes;
            } else if (c == '\\' && in_quotes && i + 1 < text.size()) {
                word += text[++i];
            } else {
                word += c;
            }
        }
        if (in_quotes) throw script_error{line, "unterminated quote"};
        words.push_back(std::move(word));
    }
    return words;
}

template <class T> std::optional<T> to_number(std::string_view s) {
    T value{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

}  // namespace

std::vector<script_line> split_script(std::istream& in) {
    std::vector<script_line> lines;
    std::string text;
    for (std::size_t number = 1; std::getline(in, text); ++number) {
        auto words = split_words(text, number);
        if (!words.empty()) lines.push_back({number, text, std::move(words)});
    }
    return lines;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
    using std::chrono::milliseconds;
    std::string_view s{text};
    double scale = 1;
    if (s.ends_with("ms")) {
        s.remove_suffix(2);
    } else if (s.ends_with("s")) {
        s.remove_suffix(1);
        scale = 1000;
    }
    const auto value = to_number<double>(s);
    if (!value || *value < 0) return std::nullopt;
    return milliseconds{static_cast<std::int64_t>(*value * scale)};
}

std::optional<std::vector<std::uint8_t>> parse_hex(const std::string& text) {
    std::string digits;
    for (const char c : text) {
        if (is_blank(c)) continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        digits += c;
    }
    if (digits.size() % 2 != 0) return std::nullopt;
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        std::uint8_t byte = 0;
        std::from_chars(digits.data() + i, digits.data() + i + 2, byte, 16);
        bytes.push_back(byte);
    }
    return bytes;
}

arguments::arguments(const script_line& line, std::size_t first_word, id_resolver resolve_id)
    : line_{line.number}, resolve_id_{std::move(resolve_id)} {
    for (std::size_t i = first_word; i < line.words.size(); ++i) {
        const auto& word = line.words[i];
        const auto eq = word.find('=');
        if (eq == std::string::npos || eq == 0) {
            positional_.push_back(word);
        } else if (!values_.emplace(word.substr(0, eq), word.substr(eq + 1)).second) {
            fail("argument given twice: " + word.substr(0, eq));
        }
    }
}

void arguments::fail(const std::string& message) const { throw script_error{line_, message}; }

bool arguments::has(const std::string& key) const { return values_.contains(key); }

std::optional<std::string> arguments::text(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    used_.insert(key);
    return it->second;
}

std::string arguments::required_text(const std::string& key) const {
    auto value = text(key);
    if (!value) fail("missing argument " + key + "=");
    return *value;
}

std::optional<std::uint64_t> arguments::number(const std::string& key, std::uint64_t max) const {
    const auto value = text(key);
    if (!value) return std::nullopt;
    const auto n = to_number<std::uint64_t>(*value);
    if (!n || *n > max) fail(key + "=" + *value + ": expected a number 0.." + std::to_string(max));
    return n;
}

std::optional<bool> arguments::flag(const std::string& key) const {
    const auto n = number(key, 1);
    if (!n) return std::nullopt;
    return *n == 1;
}

std::optional<std::uint16_t> arguments::packet_id(const std::string& key) const {
    const auto value = text(key);
    if (!value) return std::nullopt;
    if (value->starts_with('$')) return resolve_id_(value->substr(1));
    return static_cast<std::uint16_t>(*number(key, 0xFFFF));
}

std::optional<std::chrono::milliseconds> arguments::duration(const std::string& key) const {
    const auto value = text(key);
    if (!value) return std::nullopt;
    const auto d = parse_duration(*value);
    if (!d) fail(key + "=" + *value + ": expected a duration like 500ms or 2s");
    return d;
}

std::optional<std::vector<std::uint8_t>> arguments::hex(const std::string& key) const {
    const auto value = text(key);
    if (!value) return std::nullopt;
    auto bytes = parse_hex(*value);
    if (!bytes) fail(key + "=" + *value + ": expected hex bytes");
    return bytes;
}

void arguments::finish(bool takes_positional) const {
    for (const auto& [key, value] : values_) {
        if (!used_.contains(key)) fail("unknown argument " + key + "=" + value);
    }
    if (!takes_positional && !positional_.empty()) fail("unexpected word " + positional_.front());
}

}  // namespace mqttd::test_client
