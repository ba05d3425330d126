#include "protocol/topic.hpp"

#include <cstddef>
#include <utility>

#include "protocol/errc.hpp"

namespace mqttd::protocol {
namespace {

// Cuts a topic or filter into levels at '/'. Empty levels are real levels (section 4.7.1.1): "a//b" has three
// and "/a" has two, the first empty.
class level_cursor {
public:
    explicit level_cursor(std::string_view s) noexcept : rest_{s} {}

    bool is_done() const noexcept { return is_done_; }

    // The next level; is_done() turns true once the last level has been taken.
    std::string_view take() noexcept {
        const auto slash = rest_.find('/');
        if (slash == std::string_view::npos) {
            is_done_ = true;
            return std::exchange(rest_, std::string_view{});
        }
        const auto level = rest_.substr(0, slash);
        rest_.remove_prefix(slash + 1);
        return level;
    }

    std::string_view rest() const noexcept { return rest_; }

private:
    std::string_view rest_;
    bool is_done_ = false;
};

}  // namespace

std::error_code validate_topic_name(std::string_view topic) noexcept {
    if (topic.empty()) return errc::empty_topic;  // [MQTT-4.7.3-1]
    // [MQTT-3.3.2-2] [MQTT-4.7.1-1] wildcards belong to filters only.
    if (topic.find_first_of("+#") != std::string_view::npos) return errc::wildcard_in_topic_name;
    return {};
}

std::error_code validate_topic_filter(std::string_view filter) noexcept {
    if (filter.empty()) return errc::empty_topic;  // [MQTT-4.7.3-1]
    level_cursor levels{filter};
    while (!levels.is_done()) {
        const auto level = levels.take();
        if (level.find('#') != std::string_view::npos) {
            // [MQTT-4.7.1-2] '#' is a whole level and the last one.
            if (level.size() != 1 || !levels.is_done()) return errc::multi_level_wildcard_not_last;
        }
        // [MQTT-4.7.1-3] '+' fills its whole level.
        if (level.find('+') != std::string_view::npos && level.size() != 1)
            return errc::single_level_wildcard_not_alone;
    }
    return {};
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with '$'.
    if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#'))
        return false;
    level_cursor f{filter};
    level_cursor t{topic};
    for (;;) {
        const auto filter_level = f.take();
        // [MQTT-4.7.1-2] '#' matches the remaining levels, none included: "sport/#" matches "sport".
        if (filter_level == "#") return true;
        const auto topic_level = t.take();
        if (filter_level != "+" && filter_level != topic_level) return false;
        if (f.is_done() || t.is_done()) {
            if (f.is_done() && t.is_done()) return true;
            if (f.is_done()) return false;  // the topic is deeper than the filter
            return f.rest() == "#";         // the topic ended: only a trailing "#" still matches (its parent)
        }
    }
}

}  // namespace mqttd::protocol
