// mqttd_test_client: the project's own MQTT 3.1.1 test client, built on mqttd_protocol.
//   mqttd_test_client script [-h HOST] [-p PORT] [-t TIMEOUT] [-q] FILE|-
//   mqttd_test_client load [-h HOST] [-p PORT] [--publishers N] [--messages N] [--qos 0|1|2]
//                          [--subscribers N] [--inflight N] [--timeout DURATION]
// Exit status: 0 passed, 1 the broker did not behave as expected, 2 bad usage or a bad script.

#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "load_test.hpp"
#include "script.hpp"
#include "script_line.hpp"

namespace {

using namespace mqttd::test_client;

struct usage_error {
    std::string what;
};

constexpr std::string_view usage =
    "usage: mqttd_test_client script [-h HOST] [-p PORT] [-t TIMEOUT] [-q] FILE|-\n"
    "       mqttd_test_client load [-h HOST] [-p PORT] [--publishers N] [--messages N] [--qos 0|1|2]\n"
    "                              [--subscribers N] [--inflight N] [--timeout DURATION]\n";

// Options with a value, flags (value "1"), and at most one positional word, in any order.
class command_line {
public:
    command_line(int argc, char** argv, const std::vector<std::string>& flags) {
        for (int i = 2; i < argc; ++i) {
            const std::string word = argv[i];
            const bool is_flag = std::find(flags.begin(), flags.end(), word) != flags.end();
            if (word.size() > 1 && word[0] == '-' && is_flag) {
                options_[word] = "1";
            } else if (word.size() > 1 && word[0] == '-') {
                if (i + 1 == argc) throw usage_error{word + " needs a value"};
                options_[word] = argv[++i];
            } else if (positional_) {
                throw usage_error{"unexpected argument " + word};
            } else {
                positional_ = word;
            }
        }
    }

    std::optional<std::string> take(const std::string& key) {
        const auto it = options_.find(key);
        if (it == options_.end()) return std::nullopt;
        auto value = it->second;
        options_.erase(it);
        return value;
    }

    unsigned number(const std::string& key, unsigned fallback, unsigned min, unsigned max) {
        const auto text = take(key);
        if (!text) return fallback;
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
        if (ec != std::errc{} || end != text->data() + text->size() || value < min || value > max) {
            throw usage_error{key + " " + *text + ": expected " + std::to_string(min) + ".." +
                              std::to_string(max)};
        }
        return value;
    }

    std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback) {
        const auto text = take(key);
        if (!text) return fallback;
        const auto d = parse_duration(*text);
        if (!d) throw usage_error{key + " " + *text + ": expected a duration like 500ms or 30s"};
        return *d;
    }

    const std::optional<std::string>& positional() const { return positional_; }

    void finish() const {
        if (!options_.empty()) throw usage_error{"unknown option " + options_.begin()->first};
    }

private:
    std::map<std::string, std::string> options_;
    std::optional<std::string> positional_;
};

int script_command(int argc, char** argv) {
    command_line args{argc, argv, {"-q"}};
    script_options options;
    options.host = args.take("-h").value_or(options.host);
    options.port = static_cast<std::uint16_t>(args.number("-p", options.port, 1, 65535));
    options.default_timeout = args.duration("-t", options.default_timeout);
    options.is_verbose = !args.take("-q");
    args.finish();
    if (!args.positional()) throw usage_error{"script: missing FILE or -"};
    const auto& path = *args.positional();
    if (path == "-") return run_script(std::cin, options, std::cout);
    std::ifstream file{path};
    if (!file) {
        std::cerr << "cannot open " << path << '\n';
        return 2;
    }
    return run_script(file, options, std::cout);
}

int load_command(int argc, char** argv) {
    command_line args{argc, argv, {}};
    load_options options;
    options.host = args.take("-h").value_or(options.host);
    options.port = static_cast<std::uint16_t>(args.number("-p", options.port, 1, 65535));
    options.publishers = args.number("--publishers", options.publishers, 1, 1000);
    options.messages = args.number("--messages", options.messages, 1, 10'000'000);
    options.qos = args.number("--qos", options.qos, 0, 2);
    options.subscribers = args.number("--subscribers", options.subscribers, 1, 1000);
    options.inflight = args.number("--inflight", options.inflight, 1, 65535);
    options.timeout = args.duration("--timeout", options.timeout);
    args.finish();
    if (args.positional()) throw usage_error{"unexpected argument " + *args.positional()};
    return run_load(options, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::string_view command = argc > 1 ? argv[1] : "";
        if (command == "script") return script_command(argc, argv);
        if (command == "load") return load_command(argc, argv);
        std::cerr << usage;
        return 2;
    } catch (const usage_error& e) {
        std::cerr << e.what << '\n' << usage;
        return 2;
    }
}
