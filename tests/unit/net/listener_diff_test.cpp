// Which listeners a reload keeps, starts and stops (broker/net/listener_diff.hpp).
#include "broker/net/listener_diff.hpp"

#include <doctest/doctest.h>

using namespace mqttd::net;

namespace {

listener_options make(listener_type type, const std::string& bind, std::uint16_t port) {
    listener_options l;
    l.type = type;
    l.bind = bind;
    l.port = port;
    return l;
}

listener_plan plan(const std::vector<listener_options>& running, const std::vector<listener_options>& next) {
    return plan_listeners(running, next, [](const listener_options& l) { return key_of(l); });
}

using pairs = std::vector<std::pair<std::size_t, std::size_t>>;
using indices = std::vector<std::size_t>;

}  // namespace

TEST_CASE("plan_listeners: the same listeners are all kept, whatever their order") {
    const std::vector running{make(listener_type::tcp, "127.0.0.1", 1883), make(listener_type::tls, "127.0.0.1", 8883)};
    const std::vector next{running[1], running[0]};
    const auto p = plan(running, next);
    CHECK(p.keep == pairs{{1, 0}, {0, 1}});
    CHECK(p.start.empty());
    CHECK(p.stop.empty());
}

TEST_CASE("plan_listeners: a new address starts, a missing one stops") {
    const std::vector running{make(listener_type::tcp, "127.0.0.1", 1883), make(listener_type::tcp, "127.0.0.1", 1884)};
    const std::vector next{make(listener_type::tcp, "127.0.0.1", 1884), make(listener_type::tcp, "127.0.0.1", 1885)};
    const auto p = plan(running, next);
    CHECK(p.keep == pairs{{1, 0}});
    CHECK(p.start == indices{1});
    CHECK(p.stop == indices{0});
}

TEST_CASE("plan_listeners: another type or bind address on the same port is another listener") {
    const std::vector running{make(listener_type::tcp, "127.0.0.1", 1883)};
    const auto p = plan(running, {make(listener_type::ws, "127.0.0.1", 1883), make(listener_type::tcp, "::1", 1883)});
    CHECK(p.keep.empty());
    CHECK(p.start == indices{0, 1});
    CHECK(p.stop == indices{0});
}

TEST_CASE("plan_listeners: other options keep the listener; duplicate keys pair one to one") {
    auto changed = make(listener_type::tcp, "127.0.0.1", 0);
    changed.max_connections = 10;
    const std::vector running{make(listener_type::tcp, "127.0.0.1", 0), make(listener_type::tcp, "127.0.0.1", 0)};
    const auto p = plan(running, {changed});
    CHECK(p.keep == pairs{{0, 0}});
    CHECK(p.start.empty());
    CHECK(p.stop == indices{1});
}

TEST_CASE("needs_restart: only options a connection holds for its life restart a kept listener") {
    const auto running = make(listener_type::wss, "127.0.0.1", 8884);
    auto next = running;
    next.max_connections = 3;
    next.tls.cert_file = "other.pem";
    next.allow_anonymous = false;
    CHECK_FALSE(needs_restart(running, next));
    next.websocket.path = "/other";
    CHECK(needs_restart(running, next));
    next = running;
    next.tls.use_identity_as_username = true;
    CHECK(needs_restart(running, next));
}
