#include "script.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <thread>

#include "mqtt_connection.hpp"
#include "packet_text.hpp"
#include "script_line.hpp"

namespace mqttd::test_client {
namespace {

// A step whose outcome differs from what the script expects; not a mistake in the script.
struct step_failure {
    std::string expected;
    std::string got;
};

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : bytes) {
        if (!out.empty()) out += ' ';
        out += digits[b >> 4];
        out += digits[b & 0xF];
    }
    return out;
}

struct named_connection {
    mqtt_connection connection;
    std::optional<protocol::packet_id> last_id;  // from the last received packet carrying one: $last
};

class script_runner {
public:
    script_runner(const script_options& options, std::ostream& log) : options_{options}, log_{log} {}

    void run(const script_line& line) {
        const auto& command = line.words[0];
        if (command == "sleep") return sleep(line);
        if (line.words.size() < 2) throw script_error{line.number, command + ": missing connection name"};
        const auto& name = line.words[1];
        if (command == "connect" || command == "open") return open(line, name, command == "connect");
        auto& conn = existing(line, name);
        if (command == "send") return send(line, conn);
        if (command == "raw") return raw(line, conn);
        if (command == "expect") return expect(line, conn);
        if (command == "expect_nothing") return expect_nothing(line, conn);
        if (command == "drop") {
            conn.connection.close();
            return trace(line, "dropped the connection");
        }
        if (command == "disconnect") {
            send_packet(line, conn, protocol::disconnect{});
            return conn.connection.close();
        }
        throw script_error{line.number, "unknown command " + command};
    }

private:
    // $last: the id of the last packet received on this connection; $NAME: an id saved with `as=NAME`.
    arguments args_of(const script_line& line, std::size_t first_word, const named_connection* conn) const {
        const auto resolve = [this, conn, number = line.number](const std::string& name) {
            if (name == "last") {
                if (!conn || !conn->last_id) throw script_error{number, "$last: no packet id received yet"};
                return *conn->last_id;
            }
            const auto it = saved_ids_.find(name);
            if (it == saved_ids_.end()) throw script_error{number, "$" + name + ": not saved by as=" + name};
            return it->second;
        };
        return arguments{line, first_word, resolve};
    }

    named_connection& existing(const script_line& line, const std::string& name) {
        const auto it = connections_.find(name);
        if (it == connections_.end()) {
            throw script_error{line.number, "unknown connection " + name + " (connect it first)"};
        }
        return *it->second;
    }

    void sleep(const script_line& line) {
        const auto args = args_of(line, 1, nullptr);
        if (args.positional().size() != 1) args.fail("sleep DURATION");
        const auto d = parse_duration(args.positional()[0]);
        if (!d) args.fail("bad duration " + args.positional()[0]);
        args.finish(true);
        std::this_thread::sleep_for(*d);
        trace(line, "slept");
    }

    void open(const script_line& line, const std::string& name, bool sends_connect) {
        auto& slot = connections_[name];
        slot = std::make_unique<named_connection>();
        const auto args = args_of(line, 2, slot.get());
        packet_storage storage;
        std::optional<protocol::packet> connect;
        if (sends_connect) connect = build_packet(protocol::packet_type::connect, args, storage);
        args.finish();
        if (const auto ec = slot->connection.open(options_.host, options_.port, options_.default_timeout)) {
            throw step_failure{"TCP connection to " + options_.host + ":" + std::to_string(options_.port),
                               ec.message()};
        }
        if (connect) send_packet(line, *slot, *connect);
    }

    void send_packet(const script_line& line, named_connection& conn, const protocol::packet& packet) {
        if (const auto ec = conn.connection.send(packet, options_.default_timeout)) {
            throw step_failure{"to send " + describe(packet), ec.message()};
        }
        trace(line, "sent " + describe(packet));
    }

    void send(const script_line& line, named_connection& conn) {
        if (line.words.size() < 3) throw script_error{line.number, "send NAME TYPE [ARGS]"};
        const auto type = packet_type_from_name(line.words[2]);
        if (!type) throw script_error{line.number, "unknown packet type " + line.words[2]};
        const auto args = args_of(line, 3, &conn);
        packet_storage storage;
        const auto packet = build_packet(*type, args, storage);
        args.finish(*type == protocol::packet_type::subscribe || *type == protocol::packet_type::unsubscribe);
        send_packet(line, conn, packet);
    }

    void raw(const script_line& line, named_connection& conn) {
        std::string hex;
        for (std::size_t i = 2; i < line.words.size(); ++i) hex += line.words[i];
        const auto bytes = parse_hex(hex);
        if (!bytes || bytes->empty()) throw script_error{line.number, "raw NAME HEX-BYTES"};
        if (const auto ec = conn.connection.send(*bytes, options_.default_timeout)) {
            throw step_failure{"to send raw bytes", ec.message()};
        }
        trace(line, "sent " + std::to_string(bytes->size()) + " raw bytes");
    }

    static std::string outcome(const receive_result& r, std::chrono::milliseconds timeout) {
        switch (r.status) {
        case receive_status::packet: return describe(r.packet->packet());
        case receive_status::closed: return "connection closed (" + r.error.message() + ")";
        case receive_status::timed_out: return "nothing within " + std::to_string(timeout.count()) + "ms";
        case receive_status::failed: break;
        }
        return "error: " + r.error.message();
    }

    // expect NAME TYPE [FIELD=VALUE...] [as=NAME] [timeout=D] | expect NAME closed | expect NAME bytes HEX...
    void expect(const script_line& line, named_connection& conn) {
        if (line.words.size() < 3) throw script_error{line.number, "expect NAME TYPE|closed|bytes [ARGS]"};
        const auto& what = line.words[2];
        const auto args = args_of(line, 3, &conn);
        const auto timeout = args.duration("timeout").value_or(options_.default_timeout);
        const auto save_as = args.text("as");
        const auto type = packet_type_from_name(what);
        std::optional<std::vector<std::uint8_t>> bytes;
        if (what == "bytes") {
            std::string hex;
            for (const auto& word : args.positional()) hex += word;
            bytes = parse_hex(hex);
            if (!bytes || bytes->empty()) args.fail("expect NAME bytes HEX-BYTES");
        } else if (!type && what != "closed") {
            args.fail("unknown packet type " + what);
        }
        std::string expected = what;
        for (std::size_t i = 3; i < line.words.size(); ++i) expected += ' ' + line.words[i];

        const auto r = conn.connection.receive(timeout);
        if (what == "closed") {
            args.finish();
            if (r.status != receive_status::closed) throw step_failure{expected, outcome(r, timeout)};
            return trace(line, outcome(r, timeout));
        }
        const bool is_packet = r.status == receive_status::packet;
        if (!is_packet || (type && protocol::type_of(r.packet->packet()) != *type)) {
            throw step_failure{expected, outcome(r, timeout)};
        }
        const auto& packet = r.packet->packet();
        std::vector<std::string> differences;
        if (bytes) {
            const auto actual = r.packet->bytes();
            if (!std::equal(bytes->begin(), bytes->end(), actual.begin(), actual.end())) {
                differences.push_back("bytes: " + to_hex(actual));
            }
        } else {
            differences = mismatches(args, packet);
        }
        args.finish(bytes.has_value());
        if (!differences.empty()) {
            std::string got = describe(packet);
            for (const auto& d : differences) got += "\n    " + d;
            throw step_failure{expected, got};
        }
        if (const auto id = packet_id_of(packet)) {
            conn.last_id = id;
            if (save_as) saved_ids_[*save_as] = *id;
        } else if (save_as) {
            args.fail("as=" + *save_as + ": the packet has no packet id");
        }
        trace(line, "got " + describe(packet));
    }

    void expect_nothing(const script_line& line, named_connection& conn) {
        const auto args = args_of(line, 2, &conn);
        auto timeout = args.duration("timeout");
        if (args.positional().size() == 1) timeout = parse_duration(args.positional()[0]);
        if (!timeout || args.positional().size() > 1) args.fail("expect_nothing NAME DURATION");
        args.finish(true);
        const auto r = conn.connection.receive(*timeout);
        if (r.status != receive_status::timed_out) throw step_failure{"nothing", outcome(r, *timeout)};
        trace(line, "nothing arrived");
    }

    void trace(const script_line& line, const std::string& what) {
        if (options_.is_verbose) log_ << "line " << line.number << ": " << what << '\n';
    }

    const script_options& options_;
    std::ostream& log_;
    std::map<std::string, std::unique_ptr<named_connection>> connections_;
    std::map<std::string, protocol::packet_id> saved_ids_;
};

}  // namespace

int run_script(std::istream& in, const script_options& options, std::ostream& log) {
    try {
        const auto lines = split_script(in);
        script_runner runner{options, log};
        for (const auto& line : lines) {
            try {
                runner.run(line);
            } catch (const step_failure& f) {
                log << "FAILED at line " << line.number << ": " << line.text << "\n  expected: " << f.expected
                    << "\n  got:      " << f.got << '\n';
                return 1;
            }
        }
    } catch (const script_error& e) {
        log << "script error: " << e.what() << '\n';
        return 2;
    }
    log << "script passed\n";
    return 0;
}

}  // namespace mqttd::test_client
