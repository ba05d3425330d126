#include "auth/acl_match.hpp"

#include <utility>

namespace mqttd::auth {
namespace {

// The next level of a valid filter; is_done() turns true once the last level has been taken.
class levels {
public:
    explicit levels(std::string_view s) noexcept : rest_{s} {}

    bool is_done() const noexcept { return is_done_; }

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

private:
    std::string_view rest_;
    bool is_done_ = false;
};

bool is_wildcard(std::string_view level) noexcept { return level == "+" || level == "#"; }

}  // namespace

bool filter_covers(std::string_view rule, std::string_view filter) noexcept {
    // [MQTT-4.7.2-1] a rule starting with a wildcard matches no '$' topic, so it covers no filter for them.
    if (filter.starts_with('$') && (rule.starts_with('+') || rule.starts_with('#'))) return false;
    levels r{rule};
    levels f{filter};
    for (;;) {
        const auto rule_level = r.take();
        if (rule_level == "#") return true;
        if (f.is_done()) return false;  // the rule needs a level the filter's shortest topics lack
        const auto filter_level = f.take();
        if (rule_level == "+") {
            if (filter_level == "#") return false;  // '#' spans any number of levels, '+' exactly one
        } else if (is_wildcard(filter_level) || filter_level != rule_level) {
            return false;
        }
        if (r.is_done()) return f.is_done();
    }
}

void expand_pattern(std::string_view pattern, std::string_view client_id, std::string_view username,
                    std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '%' && i + 1 < pattern.size()) {
            if (pattern[i + 1] == 'c') {
                out += client_id;
                ++i;
                continue;
            }
            if (pattern[i + 1] == 'u') {
                out += username;
                ++i;
                continue;
            }
        }
        out += pattern[i];
    }
}

}  // namespace mqttd::auth
