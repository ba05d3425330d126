// libFuzzer target: 2-4 shards driven by arbitrary bytes read as a script of client actions and message
// deliveries, with arbitrary packets (decoded by the real decoder) from up to eight connections. After every
// step the invariants of tests/unit/core/shard_checks.hpp must hold: one owner per client id, no state the
// migration protocol rules out, bounded nesting, no routed message taken in twice by one session incarnation.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "protocol/decoder.hpp"
#include "shard_checks.hpp"

namespace {

using namespace mqttd;

class script {
public:
    explicit script(std::span<const std::uint8_t> bytes) : bytes_{bytes} {}
    bool done() const noexcept { return pos_ >= bytes_.size(); }
    std::uint8_t next() noexcept { return done() ? 0 : bytes_[pos_++]; }
    std::span<const std::uint8_t> take(std::size_t n) noexcept {
        n = std::min(n, bytes_.size() - pos_);
        const auto out = bytes_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
};

void require(const std::string& problem) {
    if (!problem.empty()) {
        std::fprintf(stderr, "invariant broken: %s\n", problem.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    script in{{data, size}};
    const std::size_t shards = 2 + in.next() % 3;
    test::shard_scheduler s{shards, core::shard_options{{1 + in.next() % 4u, 8, 4096}, std::chrono::seconds{30}}};
    test::intake_log log;
    log.checks_order = false;
    for (std::size_t i = 0; i < shards; ++i) s.at(i).set_observer(&log);
    const std::array<std::string, 4> ids{"a", "b", "c", ""};
    std::array<core::connection_id, 8> conns{};
    const protocol::decoder decoder{4096};
    std::mt19937 rng{in.next()};

    for (int step = 0; step < 2000 && !in.done(); ++step) {
        const auto op = in.next() % 8;
        auto& conn = conns[in.next() % conns.size()];
        switch (op) {
        case 0: {  // a new connection takes this slot
            auto id = ids[in.next() % ids.size()];
            const bool clean = id.empty() || (in.next() & 1) != 0;
            if (id.empty()) id = "generated-" + std::to_string(step);  // [MQTT-3.1.3-6] the broker names it
            conn = s.connect(in.next() % shards, test::params(id, clean));
            break;
        }
        case 1: {  // arbitrary bytes from the connection, decoded as the connection would
            if (conn == 0) break;
            auto stream = in.take(in.next());
            while (!stream.empty() && s.client(conn).is_open) {
                protocol::packet p;
                std::error_code ec;
                const auto used = decoder.next(stream, p, ec);
                if (ec || used == 0) break;  // a real connection would close, or wait for more
                if (s.client(conn).is_attached) s.send(conn, p);
                stream = stream.subspan(used);
            }
            break;
        }
        case 2:
            if (conn != 0) s.drop(conn);
            break;
        case 3:
            s.deliver_random(rng);
            break;
        case 4:
            s.advance(std::chrono::seconds{in.next()});
            break;
        case 5:
            if (conn != 0) s.set_write_blocked(conn, (in.next() & 1) != 0);
            break;
        case 6:
            for (int i = in.next() % 16; i >= 0 && s.deliver_random(rng); --i) {}
            break;
        default:
            s.run_until_quiet(rng);
            break;
        }
        for (const auto& id : ids) require(test::owner_problem(s, id));
        require(test::shard_problems(s));
        if (!log.failures.empty()) require(log.failures.front());
    }
    s.run_until_quiet(rng);
    for (const auto& [id, c] : s.clients())
        if (c.is_open && !c.is_attached) require("a connection still waits for its session at the end");
    return 0;
}
