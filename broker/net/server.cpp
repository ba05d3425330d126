#include "broker/net/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <future>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "broker/logging/log.hpp"
#include "broker/net/listener_diff.hpp"
#include "broker/net/tls_context.hpp"

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

void warn_if_anonymous_on_network(const listener_options& l, const auth_options& auth) {
    if (l.allow_anonymous.value_or(auth.allow_anonymous) && !is_loopback(l.bind))
        logging::log_line{logging::level::warning}
            << "event=anonymous_on_network listener=" << to_string(l.type) << " bind=" << l.bind << " port=" << l.port
            << " detail=\"clients without credentials are accepted from the network\"";
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
    for (const auto& l : shared_.options.listeners) warn_if_anonymous_on_network(l, shared_.options.auth);
    {
        std::lock_guard lifecycle{lifecycle_mutex_};
        is_started_ = true;
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
    std::lock_guard lock{listeners_mutex_};
    for (const auto& l : listeners_) {
        total.refused_connections += l->refused_count();
        if (each == nullptr) continue;
        const auto& o = l->options();
        each->push_back({o.type, o.bind, l->port(), l->open_count(), l->accepted_count(), l->refused_count()});
    }
    // A removed listener's refusals still count in the totals; its connections count under no listener.
    for (const auto& l : retired_) total.refused_connections += l->refused_count();
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
                           core::close_reason::session_taken_over, core::close_reason::kicked})
        line << " closed_" << core::to_string(why) << "=" << now.closes[static_cast<std::size_t>(why)];
    line << " refused_max_connections=" << now.refused_connections << " sessions_expired=" << now.sessions_expired
         << " superseded_connects=" << now.superseded_connects << " unforeseen_states=" << now.unforeseen_states;
    last_summary_ = now;
}

std::vector<std::string> server::reconfigure(server_options next) {
    std::lock_guard lifecycle{lifecycle_mutex_};
    if (is_stopped_) return {"the broker is stopping"};
    const auto& running = shared_.options;
    next.threads = running.threads;
    next.persistence = running.persistence;
    next.share_strategies = running.share_strategies;
    next.auth.failed_login_delay = running.auth.failed_login_delay;
    next.auth.max_failed_login_delay = running.auth.max_failed_login_delay;
    next.shard.access = running.shard.access;
    next.shard.storage = running.shard.storage;
    next.shard.message_ids = running.shard.message_ids;
    if (next.max_connections == 0) next.max_connections = automatic_max_connections();
    const auto plan = plan_listeners(running.listeners, next.listeners, [](const listener_options& l) { return key_of(l); });

    // What can fail, before anything changes: the TLS files of kept listeners, then the password and ACL files
    // (the last step that can fail: once they are in use, everything else applies).
    std::vector<ssl_context_ptr> contexts(listeners_.size());
    for (const auto& [r, n] : plan.keep) {
        const auto& l = next.listeners[n];
        if (!uses_tls(l.type) || needs_restart(running.listeners[r], l)) continue;
        try {
            contexts[r] = make_ssl_context(l.tls);
        } catch (const std::exception& e) {
            logging::log_line{logging::level::warning} << "event=tls_reload_failed listener=" << n
                                                       << " reason=" << logging::quoted{e.what()} << " kept=previous";
            throw std::runtime_error{"listeners[" + std::to_string(n) + "]: " + e.what()};
        }
    }
    try {
        shared_.access->reconfigure(next.auth);
        if (!next.auth.password_file.empty() || !next.auth.acl_file.empty())
            logging::log_line{logging::level::info} << "event=auth_reloaded";
    } catch (const std::exception& e) {
        logging::log_line{logging::level::warning}
            << "event=auth_reload_failed reason=" << logging::quoted{e.what()} << " kept=previous";
        throw;
    }

    // $SYS: a new sys_interval applies at once (0 stops the publications; the retained topics stay).
    if (next.sys_interval != shared_.options.sys_interval) {
        if (next.sys_interval.count() == 0) {
            if (sys_) sys_->stop();
        } else if (sys_) {
            sys_->restart(next.sys_interval);
        } else {
            sys_ = std::make_unique<sys_publisher>(*shared_.workers.front(), next.sys_interval, [this] { return stats(); });
            sys_->start();
        }
    }

    // The limits: each worker's copy, on its own thread, for new connections and sessions.
    auto running_listeners = std::move(shared_.options.listeners);
    shared_.options = next;
    shared_.options.listeners.clear();
    for (auto& w : shared_.workers)
        asio::post(w->context(), [&w = *w, options = shared_.options] { w.apply_options(options); });

    // The listeners: kept ones in place, then removed (and restarted) ones stopped before new ones bind, as a
    // restarted one binds the same address again. listeners_ itself changes at the end, under its mutex.
    std::vector<listener*> kept(next.listeners.size(), nullptr);
    std::vector<std::size_t> stopping = plan.stop;
    for (const auto& [r, n] : plan.keep) {
        const auto& l = next.listeners[n];
        if (needs_restart(running_listeners[r], l)) {
            stopping.push_back(r);
            continue;
        }
        listeners_[r]->apply(l, next, contexts[r]);
        if (uses_tls(l.type)) logging::log_line{logging::level::info} << "event=tls_reloaded listener=" << n;
        kept[n] = listeners_[r].get();
    }
    for (const auto r : stopping) stop_listener(*listeners_[r]);

    std::vector<std::unique_ptr<listener>> started(next.listeners.size());
    std::vector<std::string> failures;
    for (std::size_t n = 0; n < next.listeners.size(); ++n) {
        if (kept[n] != nullptr) continue;
        try {
            started[n] = std::make_unique<listener>(next.listeners[n], shared_);
            warn_if_anonymous_on_network(next.listeners[n], next.auth);
            started[n]->start();
        } catch (const std::exception& e) {
            logging::log_line{logging::level::warning}
                << "event=listener_start_failed listener=" << n << " addr=" << describe(key_of(next.listeners[n]))
                << " reason=" << logging::quoted{e.what()};
            failures.push_back("listeners[" + std::to_string(n) + "]: " + e.what());
            started[n].reset();
        }
    }

    // What runs now, in the file's order; a listener that could not start is tried again by the next reload.
    std::lock_guard lock{listeners_mutex_};
    std::vector<std::unique_ptr<listener>> serving;
    for (std::size_t n = 0; n < next.listeners.size(); ++n) {
        if (kept[n] == nullptr && !started[n]) continue;
        if (kept[n] != nullptr) {
            const auto it = std::find_if(listeners_.begin(), listeners_.end(), [&](const auto& l) { return l.get() == kept[n]; });
            serving.push_back(std::move(*it));
        } else {
            serving.push_back(std::move(started[n]));
        }
        shared_.options.listeners.push_back(next.listeners[n]);
    }
    for (const auto r : stopping) retired_.push_back(std::move(listeners_[r]));
    listeners_ = std::move(serving);
    return failures;
}

// Stops accepting, then closes on every worker the connections it accepted (close reason server_shutdown:
// like a shutdown, no will is published). The caller retires it: its connections' tickets point into it.
void server::stop_listener(listener& l) {
    const auto& o = l.options();
    l.stop_and_wait();
    for (auto& w : shared_.workers)
        asio::post(w->context(), [&w = *w, place = l.place()] { w.close_from_listener(place); });
    logging::log_line{logging::level::info} << "event=listener_stopped type=" << to_string(o.type)
                                            << " bind=" << o.bind << " port=" << l.port();
}

std::vector<std::uint16_t> server::listener_ports() const {
    std::lock_guard lock{listeners_mutex_};
    std::vector<std::uint16_t> ports;
    for (const auto& l : listeners_) ports.push_back(l->port());
    return ports;
}

void server::stop(std::chrono::milliseconds grace) {
    std::lock_guard lifecycle{lifecycle_mutex_};
    if (is_stopped_) return;
    is_stopped_ = true;
    if (!is_started_) {  // start-up failed after construction: no thread would run what is posted below
        shared_.store->stop();
        return;
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    {
        std::lock_guard lock{listeners_mutex_};
        for (auto& l : listeners_) l->stop_and_wait();  // no connection is accepted after close_all below
    }
    if (sys_) sys_->stop();  // before the workers are told to go idle: its timer would keep worker 0 running
    for (auto& w : shared_.workers) asio::post(w->context(), [&w = *w] { w.close_all(); });
    // Every worker keeps running until all of them are idle together: one that stopped early would never take
    // in what another still hands it (a delivery, a storage completion). Past the grace period the
    // stragglers (clients that stopped reading) are cut off.
    const bool is_drained = wait_until_drained(deadline);
    for (auto& w : shared_.workers) w->stop_when_idle();
    auto all_idle = std::async(std::launch::async, [this] {
        for (auto& w : shared_.workers) w->join();
    });
    if (!is_drained || all_idle.wait_until(deadline) != std::future_status::ready) {
        for (auto& w : shared_.workers) w->stop_now();
    }
    all_idle.wait();
    shared_.store->stop();  // everything submitted is written and synced: a clean shutdown loses nothing
    logging::log_line{logging::level::info} << "event=stopped";
}

// Quiet means: no connection left on any worker, and nothing handed between threads during a whole round in
// which every worker ran everything queued before and the commit thread finished everything submitted before.
// Anything handed over after the round began moves the count, and the round is tried again.
bool server::wait_until_drained(std::chrono::steady_clock::time_point deadline) {
    while (true) {
        const auto handoffs = shared_.handoffs.load(std::memory_order_acquire);
        std::vector<std::future<std::size_t>> counts;
        for (auto& w : shared_.workers) {
            auto count = std::make_shared<std::promise<std::size_t>>();
            counts.push_back(count->get_future());
            asio::post(w->context(), [&w = *w, count] { count->set_value(w.connection_count()); });
        }
        std::size_t open = 0;
        for (auto& c : counts) {
            if (c.wait_until(deadline) != std::future_status::ready) return false;
            open += c.get();
        }
        shared_.store->wait_idle();
        if (open == 0 && shared_.open_connections.load(std::memory_order_acquire) == 0 &&
            shared_.handoffs.load(std::memory_order_acquire) == handoffs)
            return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        // Connections still flushing their last bytes: look again shortly; handoffs alone: at once.
        if (open != 0) std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
}

}  // namespace mqttd::net
