#include "broker/app/config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

namespace mqttd::app {

using json = nlohmann::json;

config_error::config_error(const std::string& file, const std::string& key, const std::string& reason)
    : std::runtime_error{file + ": " + (key.empty() ? "" : key + ": ") + reason}, file_{file}, key_{key}, reason_{reason} {}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const auto above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// Reads one JSON object's keys, rejecting any key not asked for, with a suggestion for typos.
class object_reader {
public:
    object_reader(const json& object, std::string file, std::string path)
        : object_{object}, file_{std::move(file)}, path_{std::move(path)} {
        if (!object_.is_object()) fail(path_, "expected an object, got " + describe(object_));
    }

    const json* find(const std::string& key) {
        known_.push_back(key);
        const auto it = object_.find(key);
        return it == object_.end() ? nullptr : &*it;
    }

    bool get_bool(const std::string& key, bool fallback) {
        const auto* v = find(key);
        if (v == nullptr) return fallback;
        if (!v->is_boolean()) fail(key_path(key), "expected true or false, got " + describe(*v));
        return v->get<bool>();
    }

    long long get_integer(const std::string& key, long long fallback, long long min, long long max) {
        const auto* v = find(key);
        if (v == nullptr) return fallback;
        const auto range = std::to_string(min) + ".." + std::to_string(max);
        if (!v->is_number_integer()) fail(key_path(key), "expected integer " + range + ", got " + describe(*v));
        const auto value = v->is_number_unsigned() && v->get<unsigned long long>() > 1ULL << 62
                               ? max + 1
                               : v->get<long long>();
        if (value < min || value > max) fail(key_path(key), "expected integer " + range + ", got " + v->dump());
        return value;
    }

    double get_number(const std::string& key, double fallback, double min, double max) {
        const auto* v = find(key);
        if (v == nullptr) return fallback;
        if (!v->is_number()) fail(key_path(key), "expected a number of seconds, got " + describe(*v));
        const auto value = v->get<double>();
        if (!(value >= min && value <= max))
            fail(key_path(key), "expected a number from " + trim(min) + " to " + trim(max) + ", got " + v->dump());
        return value;
    }

    std::string get_choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) {
        const auto* v = find(key);
        if (v == nullptr) return fallback;
        std::string choices;
        for (const auto& a : allowed) choices += (choices.empty() ? "" : ", ") + ("\"" + a + "\"");
        if (!v->is_string()) fail(key_path(key), "expected one of " + choices + ", got " + describe(*v));
        const auto value = v->get<std::string>();
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
            fail(key_path(key), "expected one of " + choices + ", got " + v->dump());
        return value;
    }

    std::string get_string(const std::string& key, const std::string& fallback) {
        const auto* v = find(key);
        if (v == nullptr) return fallback;
        if (!v->is_string()) fail(key_path(key), "expected a string, got " + describe(*v));
        return v->get<std::string>();
    }

    // Call after every find/get: any key nobody asked for is a mistake worth stopping for.
    void reject_unknown_keys() const {
        for (const auto& [key, value] : object_.items()) {
            if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
            std::string reason = "unknown key";
            const auto closest = std::min_element(known_.begin(), known_.end(), [&](const auto& a, const auto& b) {
                return edit_distance(key, a) < edit_distance(key, b);
            });
            if (closest != known_.end() && edit_distance(key, *closest) <= 3) reason += " (did you mean \"" + *closest + "\"?)";
            fail(key_path(key), reason);
        }
    }

    std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
    [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
        throw config_error{file_, key, reason};
    }
    const std::string& file() const noexcept { return file_; }

    static std::string describe(const json& v) {
        switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "boolean " + v.dump();
        case json::value_t::string: return "string " + v.dump();
        case json::value_t::array: return "an array";
        case json::value_t::object: return "an object";
        default: return "number " + v.dump();
        }
    }

private:
    static std::string trim(double d) {
        std::ostringstream out;
        out << d;
        return out.str();
    }

    const json& object_;
    std::string file_;
    std::string path_;
    std::vector<std::string> known_;
};

std::vector<std::string> get_string_list(object_reader& r, const std::string& key) {
    const auto* v = r.find(key);
    if (v == nullptr) return {};
    if (!v->is_array()) r.fail(r.key_path(key), "expected an array of strings, got " + object_reader::describe(*v));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string())
            r.fail(r.key_path(key) + "[" + std::to_string(i) + "]",
                   "expected a string, got " + object_reader::describe((*v)[i]));
        out.push_back((*v)[i].get<std::string>());
    }
    return out;
}

void read_tls_keys(object_reader& r, net::tls_options& tls) {
    tls.cert_file = r.get_string("cert_file", "");
    if (tls.cert_file.empty()) r.fail(r.key_path("cert_file"), "missing (a TLS listener needs a PEM certificate file)");
    tls.key_file = r.get_string("key_file", "");
    if (tls.key_file.empty()) r.fail(r.key_path("key_file"), "missing (a TLS listener needs a PEM private key file)");
    tls.key_password_file = r.get_string("key_password_file", "");
    tls.ca_file = r.get_string("ca_file", "");
    tls.require_client_cert = r.get_bool("require_client_cert", false);
    tls.use_identity_as_username = r.get_bool("use_identity_as_username", false);
    if ((tls.require_client_cert || tls.use_identity_as_username) && tls.ca_file.empty())
        r.fail(r.key_path("ca_file"), "missing (needed to verify client certificates)");
    tls.min_tls_version = r.get_choice("min_tls_version", "1.2", {"1.2", "1.3"});
    tls.ciphers = r.get_string("ciphers", "");
    tls.ciphersuites = r.get_string("ciphersuites", "");
}

net::listener_options read_listener(const json& value, const std::string& file, const std::string& path) {
    object_reader r{value, file, path};
    net::listener_options l;
    const auto type = r.get_choice("type", "tcp", {"tcp", "tls", "ws", "wss", "http"});
    l.type = type == "tls" ? net::listener_type::tls
             : type == "ws" ? net::listener_type::ws
             : type == "wss" ? net::listener_type::wss
                             : net::listener_type::tcp;
    l.bind = r.get_string("bind", "127.0.0.1");
    if (r.find("port") == nullptr) r.fail(r.key_path("port"), "missing (expected integer 0..65535)");
    l.port = static_cast<std::uint16_t>(r.get_integer("port", 1883, 0, 65535));
    l.max_connections = static_cast<std::size_t>(r.get_integer("max_connections", 0, 0, 10'000'000));
    if (r.find("allow_anonymous") != nullptr) l.allow_anonymous = r.get_bool("allow_anonymous", false);
    // Keys of other listener types are unknown here, so a TLS key on a tcp listener is reported, not ignored.
    if (net::uses_tls(l.type)) read_tls_keys(r, l.tls);
    if (net::uses_websocket(l.type)) {
        l.websocket.path = r.get_string("path", "/mqtt");
        if (l.websocket.path.empty() || l.websocket.path.front() != '/')
            r.fail(r.key_path("path"), "expected a path starting with '/', got \"" + l.websocket.path + "\"");
        l.websocket.allowed_origins = get_string_list(r, "allowed_origins");
    }
    r.reject_unknown_keys();
    return l;
}

std::chrono::milliseconds seconds(double s) { return std::chrono::milliseconds{static_cast<long long>(s * 1000)}; }

// A listener of type "http" (README: "HTTP listener, metrics and the admin API"): /metrics and the admin API.
http::http_listener_options read_http_listener(const json& value, const std::string& file, const std::string& path) {
    object_reader r{value, file, path};
    http::http_listener_options l;
    r.find("type");
    l.bind = r.get_string("bind", "127.0.0.1");
    boost::system::error_code ec;
    boost::asio::ip::make_address(l.bind, ec);
    if (ec) r.fail(r.key_path("bind"), "expected an IP address, got \"" + l.bind + "\"");
    if (r.find("port") == nullptr) r.fail(r.key_path("port"), "missing (expected integer 0..65535)");
    l.port = static_cast<std::uint16_t>(r.get_integer("port", 8081, 0, 65535));
    l.max_connections = static_cast<std::size_t>(r.get_integer("max_connections", 16, 1, 10'000));
    r.reject_unknown_keys();
    return l;
}

// The "admin" section. Without password_file the API answers 403 to everyone: it is never open.
http::admin_options read_admin(object_reader& root, bool has_http_listener) {
    http::admin_options a;
    const auto* section = root.find("admin");
    if (section == nullptr) return a;
    object_reader r{*section, root.file(), "admin"};
    a.password_file = r.get_string("password_file", "");
    a.metrics_auth = r.get_bool("metrics_auth", false);
    if (a.metrics_auth && a.password_file.empty())
        r.fail(r.key_path("password_file"), "missing (metrics_auth needs the admin password file)");
    a.failed_login_delay = seconds(r.get_number("failed_login_delay", 1, 0, 60));
    a.max_failed_login_delay = seconds(r.get_number("max_failed_login_delay", 30, 0, 3600));
    a.idle_timeout = seconds(r.get_number("idle_timeout", 30, 0.1, 3600));
    a.max_request_bytes = static_cast<std::size_t>(r.get_integer("max_request_bytes", 64 * 1024, 1024, 16 * 1024 * 1024));
    r.reject_unknown_keys();
    if (!has_http_listener) root.fail("admin", "set, but no listener has type \"http\"");
    return a;
}

std::size_t size_value(object_reader& r, const std::string& key, std::size_t fallback, long long min, long long max) {
    return static_cast<std::size_t>(r.get_integer(key, static_cast<long long>(fallback), min, max));
}

bool is_loopback(const std::string& bind) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(bind, ec);
    return !ec && address.is_loopback();
}

// README: "Authentication and ACLs". allow_anonymous defaults to true only when every listener is bound to
// loopback (the default config), as Mosquitto 2 allows anonymous clients only in its local-only mode.
net::auth_options read_auth(object_reader& root, const std::vector<net::listener_options>& listeners) {
    net::auth_options a;
    a.allow_anonymous = std::all_of(listeners.begin(), listeners.end(),
                                    [](const net::listener_options& l) { return is_loopback(l.bind); });
    if (root.find("allow_anonymous") != nullptr) root.fail("allow_anonymous", "moved: use auth.allow_anonymous");
    const auto* section = root.find("auth");
    if (section == nullptr) return a;
    object_reader r{*section, root.file(), "auth"};
    a.allow_anonymous = r.get_bool("allow_anonymous", a.allow_anonymous);
    a.password_file = r.get_string("password_file", "");
    a.acl_file = r.get_string("acl_file", "");
    a.failed_login_delay = seconds(r.get_number("failed_login_delay", 1, 0, 60));
    a.max_failed_login_delay = seconds(r.get_number("max_failed_login_delay", 30, 0, 3600));
    r.reject_unknown_keys();
    return a;
}

// README: "Durable storage". The directory is relative to the configuration file's.
net::persistence_options read_persistence(object_reader& root) {
    net::persistence_options p;
    p.dir = std::filesystem::path{root.file()}.parent_path() / "data";
    const auto* section = root.find("persistence");
    if (section == nullptr) return p;
    object_reader r{*section, root.file(), "persistence"};
    p.enabled = r.get_bool("enabled", true);
    if (const auto dir = r.get_string("dir", ""); !dir.empty()) {
        const std::filesystem::path given{dir};
        p.dir = given.is_absolute() ? given : std::filesystem::path{root.file()}.parent_path() / given;
    }
    const auto sync = r.get_choice("sync", "batch", {"batch", "periodic", "none"});
    p.sync = sync == "periodic" ? storage::sync_mode::periodic
             : sync == "none"   ? storage::sync_mode::none
                                : storage::sync_mode::batch;
    p.sync_interval = std::chrono::milliseconds{r.get_integer("sync_interval_ms", 1000, 1, 3'600'000)};
    p.on_corruption = r.get_choice("on_corruption", "stop", {"stop", "move_aside"}) == "move_aside"
                          ? storage::corruption_action::move_aside
                          : storage::corruption_action::stop;
    r.reject_unknown_keys();
    return p;
}

// The limits that protect the broker (README: "Limits and protections").
void read_limits(object_reader& r, net::server_options& s) {
    const net::server_options defaults;
    // [MQTT-2.2.3] 268,435,455 bytes of remaining length + 5 bytes of fixed header.
    s.max_packet_size = size_value(r, "max_packet_size", defaults.max_packet_size, 16, 268'435'460);
    s.connect_timeout = seconds(r.get_number("connect_timeout", 10, 0.01, 3600));
    s.max_outbound_bytes = size_value(r, "max_outbound_bytes", defaults.max_outbound_bytes, 1024, 1LL << 40);
    s.write_timeout = seconds(r.get_number("write_timeout", 30, 0.1, 3600));
    s.max_connections = size_value(r, "max_connections", 0, 0, 10'000'000);
    auto& session = s.shard.session;
    session.max_inflight = size_value(r, "max_inflight", session.max_inflight, 1, 65535);
    session.max_queued_messages = size_value(r, "max_queued_messages", session.max_queued_messages, 0, 100'000'000);
    session.max_queued_bytes = size_value(r, "max_queued_bytes", session.max_queued_bytes, 0, 1LL << 40);
    session.overflow = r.get_choice("queue_overflow", "drop_new", {"drop_new", "drop_oldest"}) == "drop_oldest"
                           ? core::queue_overflow::drop_oldest
                           : core::queue_overflow::drop_new;
    // Ten years at most: a longer "never" is 0.
    s.shard.session_expiry = seconds(r.get_number("session_expiry", 0, 0, 10.0 * 365 * 24 * 3600));
}

// Shared subscriptions (README: "Shared subscriptions"): the strategy of every group, and overrides by group name.
void read_share_strategies(object_reader& r, net::server_options& s) {
    static const std::vector<std::string> strategies{"round_robin", "random", "sticky_by_publisher", "least_inflight"};
    s.share_strategies.fallback =
        *core::parse_share_strategy(r.get_choice("shared_subscription_strategy", "round_robin", strategies));
    const auto* groups = r.find("shared_subscription_groups");
    if (groups == nullptr) return;
    object_reader g{*groups, r.file(), "shared_subscription_groups"};
    for (const auto& [name, value] : groups->items()) {
        // The group names a $share/GROUP/FILTER can carry (MQTT 5, 4.8.2).
        if (name.empty() || name.find_first_of("/+#") != std::string::npos)
            g.fail(g.key_path(name), "is not a share group name (one or more characters, none of '/', '+', '#')");
        s.share_strategies.by_group[name] = *core::parse_share_strategy(g.get_choice(name, "round_robin", strategies));
    }
}

}  // namespace

config default_config() {
    config c;
    c.server.listeners.push_back(net::listener_options{});
    return c;
}

config parse_config(const std::string& text, const std::string& file) {
    json root;
    try {
        root = json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        throw config_error{file, "", std::string{"invalid JSON: "} + e.what()};
    }
    object_reader r{root, file, ""};
    config c;

    const auto* listeners = r.find("listeners");
    if (listeners == nullptr) r.fail("listeners", "missing (expected an array of listeners)");
    if (!listeners->is_array() || listeners->empty())
        r.fail("listeners", "expected a non-empty array of listeners, got " + object_reader::describe(*listeners));
    for (std::size_t i = 0; i < listeners->size(); ++i) {
        const auto& l = (*listeners)[i];
        const auto path = "listeners[" + std::to_string(i) + "]";
        if (l.is_object() && !l.contains("type"))
            r.fail(path + ".type", R"(missing (expected "tcp", "tls", "ws", "wss" or "http"))");
        if (l.is_object() && l["type"] == "http") {
            c.http.listeners.push_back(read_http_listener(l, file, path));
        } else {
            c.server.listeners.push_back(read_listener(l, file, path));
        }
    }
    if (c.server.listeners.empty())
        r.fail("listeners", R"(expected at least one MQTT listener ("tcp", "tls", "ws" or "wss"))");
    c.http.admin = read_admin(r, !c.http.listeners.empty());

    c.server.threads = static_cast<std::size_t>(r.get_integer("threads", 0, 0, 1024));
    // Seconds between $SYS publications (README: "$SYS topics"); 0 turns them off. A day at most, as a longer
    // interval is as good as off and overflows nothing.
    c.server.sys_interval = std::chrono::seconds{r.get_integer("sys_interval", 10, 0, 86'400)};
    const auto level = r.get_choice("log_level", "info", {"error", "warning", "info", "debug"});
    c.log_level = level == "error"     ? logging::level::error
                  : level == "warning" ? logging::level::warning
                  : level == "debug"   ? logging::level::debug
                                       : logging::level::info;
    c.server.auth = read_auth(r, c.server.listeners);
    c.server.persistence = read_persistence(r);
    read_limits(r, c.server);
    read_share_strategies(r, c.server);
    r.reject_unknown_keys();
    return c;
}

config load_config_file(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw config_error{path, "", "cannot open the file"};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw config_error{path, "", "cannot read the file"};
    return parse_config(text.str(), path);
}

}  // namespace mqttd::app
