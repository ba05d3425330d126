#include "broker/net/server.hpp"

#include <sys/resource.h>

#include <future>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "broker/logging/log.hpp"

namespace mqttd::net {

namespace asio = boost::asio;

namespace {

// File descriptors kept back from max_connections: listeners, the log, and (with persistence) storage files.
constexpr std::size_t reserved_descriptors = 128;

// max_connections 0 means: as many as the process may open, less the reserve, so the broker refuses a
// connection cleanly instead of failing accept() (or storage) with EMFILE.
std::size_t automatic_max_connections() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
    return limit.rlim_cur > 2 * reserved_descriptors ? limit.rlim_cur - reserved_descriptors : limit.rlim_cur / 2;
}

bool is_loopback(const std::string& bind) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(bind, ec);
    return !ec && address.is_loopback();
}

}  // namespace

server::server(server_options options) {
    shared_.options = std::move(options);
    if (shared_.options.max_connections == 0) shared_.options.max_connections = automatic_max_connections();
    shared_.access = std::make_unique<access_control>(shared_.options.auth);  // throws auth::load_error
    shared_.options.shard.access = &shared_.access->rules();
    shared_.store = std::make_unique<durable_store>(shared_.options.persistence);  // throws storage_error
    shared_.options.shard.storage = shared_.store->mode();
    shared_.options.shard.message_ids = &shared_.store->message_ids();
    shared_.router.set_share_strategies(shared_.options.share_strategies);  // before recovery subscribes
    auto threads = shared_.options.threads;
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    for (std::size_t i = 0; i < threads; ++i) shared_.workers.push_back(std::make_unique<worker>(i, threads, shared_));
    // Before any listener exists: stored sessions' subscriptions are live when the first client arrives.
    std::vector<core::shard*> shards;
    for (auto& w : shared_.workers) shards.push_back(&w->shard());
    shared_.store->recover(shared_.router, shards);
    for (std::size_t i = 0; i < shared_.options.listeners.size(); ++i) {
        try {
            listeners_.push_back(std::make_unique<listener>(shared_.options.listeners[i], shared_));
        } catch (const std::exception& e) {
            throw std::runtime_error{"listeners[" + std::to_string(i) + "]: " + e.what()};
        }
    }
}

server::~server() { stop(std::chrono::milliseconds{0}); }

void server::start() {
    // Mosquitto 2 refuses anonymous clients on anything but loopback unless told to; mqttd does the same by
    // default, and says so loudly when a configuration asks otherwise.
    for (const auto& l : shared_.options.listeners) {
        if (l.allow_anonymous.value_or(shared_.options.auth.allow_anonymous) && !is_loopback(l.bind))
            logging::log_line{logging::level::warning}
                << "event=anonymous_on_network listener=" << to_string(l.type) << " bind=" << l.bind
                << " port=" << l.port << " detail=\"clients without credentials are accepted from the network\"";
    }
    for (auto& w : shared_.workers) w->start();
    for (auto& l : listeners_) l->start();
    if (shared_.options.sys_interval.count() > 0) {
        sys_ = std::make_unique<sys_publisher>(*shared_.workers.front(), shared_.options.sys_interval,
                                               [this] { return stats(); });
        sys_->start();
    }
    logging::log_line{logging::level::info} << "event=started workers=" << shared_.workers.size()
                                            << " listeners=" << listeners_.size()
                                            << " max_connections=" << shared_.options.max_connections;
}

counters_snapshot server::counters() const {
    counters_snapshot total;
    for (const auto& w : shared_.workers) total.add(w->counters());
    add_listener_counts(total, nullptr);
    return total;
}

void server::add_listener_counts(counters_snapshot& total, std::vector<listener_stats>* each) const {
    for (const auto& l : listeners_) {
        total.refused_connections += l->refused_count();
        if (each == nullptr) continue;
        const auto& o = l->options();
        each->push_back({o.type, o.bind, l->port(), l->open_count(), l->accepted_count(), l->refused_count()});
    }
}

broker_stats server::stats() const {
    broker_stats s;
    s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
    for (const auto& w : shared_.workers) {
        const auto& c = w->counters();
        s.totals.add(c);
        s.workers.push_back({static_cast<double>(c.loop_lag_ns.load(std::memory_order_relaxed)) / 1e9,
                             c.sessions.load(std::memory_order_relaxed),
                             c.connected_sessions.load(std::memory_order_relaxed)});
    }
    add_listener_counts(s.totals, &s.listeners);
    s.subscriptions = shared_.router.subscription_count();
    s.retained_messages = shared_.router.retained_count();
    s.retained_bytes = shared_.router.retained_bytes();
    // Sampled whenever someone asks (every $SYS interval, every scrape): a peak between two samples is missed.
    auto seen = max_connected_.load(std::memory_order_relaxed);
    while (s.totals.connected_sessions > seen &&
           !max_connected_.compare_exchange_weak(seen, s.totals.connected_sessions, std::memory_order_relaxed)) {
    }
    s.max_connected_sessions = std::max(seen, s.totals.connected_sessions);
    s.memory = read_process_memory();
    return s;
}

namespace {

// The counts the summary line reports; traffic and gauges change all the time and would make it every minute.
bool same_summary(const counters_snapshot& a, const counters_snapshot& b) {
    return a.dropped == b.dropped && a.closes == b.closes && a.refused_connections == b.refused_connections &&
           a.sessions_expired == b.sessions_expired && a.superseded_connects == b.superseded_connects &&
           a.unforeseen_states == b.unforeseen_states;
}

}  // namespace

void server::log_summary() {
    const auto now = counters();
    if (same_summary(now, last_summary_)) return;
    logging::log_line line{logging::level::info};
    line << "event=summary";
    for (std::size_t i = 0; i < now.dropped.size(); ++i)
        line << " dropped_" << core::to_string(static_cast<core::drop_reason>(i)) << "=" << now.dropped[i];
    for (const auto why : {core::close_reason::protocol_error, core::close_reason::connect_timeout,
                           core::close_reason::keepalive_timeout, core::close_reason::write_timeout,
                           core::close_reason::session_taken_over})
        line << " closed_" << core::to_string(why) << "=" << now.closes[static_cast<std::size_t>(why)];
    line << " refused_max_connections=" << now.refused_connections << " sessions_expired=" << now.sessions_expired
         << " superseded_connects=" << now.superseded_connects << " unforeseen_states=" << now.unforeseen_states;
    last_summary_ = now;
}

void server::reload() {
    try {
        shared_.access->reload();
        if (!shared_.options.auth.password_file.empty() || !shared_.options.auth.acl_file.empty())
            logging::log_line{logging::level::info} << "event=auth_reloaded";
    } catch (const std::exception& e) {
        logging::log_line{logging::level::warning}
            << "event=auth_reload_failed reason=" << logging::quoted{e.what()} << " kept=previous";
    }
    reload_tls();
}

void server::reload_tls() {
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        if (!uses_tls(listeners_[i]->options().type)) continue;
        try {
            listeners_[i]->reload_tls();
            logging::log_line{logging::level::info} << "event=tls_reloaded listener=" << i;
        } catch (const std::exception& e) {
            logging::log_line{logging::level::warning}
                << "event=tls_reload_failed listener=" << i << " reason=" << logging::quoted{e.what()}
                << " kept=previous";
        }
    }
}

void server::stop(std::chrono::milliseconds grace) {
    if (is_stopped_) return;
    is_stopped_ = true;
    for (auto& l : listeners_) l->stop();
    if (sys_) sys_->stop();  // before the workers are told to go idle: its timer would keep worker 0 running
    for (auto& w : shared_.workers) {
        asio::post(w->context(), [&w = *w] { w.close_all(); });
        w->stop_when_idle();
    }
    // Each worker's run() returns once its connections have flushed and closed; past the grace period the
    // stragglers (clients that stopped reading) are cut off.
    auto all_idle = std::async(std::launch::async, [this] {
        for (auto& w : shared_.workers) w->join();
    });
    if (all_idle.wait_for(grace) != std::future_status::ready) {
        for (auto& w : shared_.workers) w->stop_now();
    }
    all_idle.wait();
    shared_.store->stop();  // everything submitted is written and synced: a clean shutdown loses nothing
    logging::log_line{logging::level::info} << "event=stopped";
}

}  // namespace mqttd::net
