#include "bench/conns_scenario.hpp"

#include <csignal>
#include <cstdio>

#include <boost/asio/signal_set.hpp>

namespace mqttd::bench {

using clock_type = std::chrono::steady_clock;

conns_scenario::conns_scenario(const options& o, boost::asio::io_context& io, boost::asio::ip::tcp::endpoint broker,
                               std::string id_prefix)
    : o_{o}, io_{io}, broker_{std::move(broker)}, id_prefix_{std::move(id_prefix)} {
    tls_.set_verify_mode(boost::asio::ssl::verify_none);
}

int conns_scenario::run() {
    for (unsigned i = 0; i < o_.connections; ++i) {
        if (o_.transport == "tls") {
            clients_.push_back(std::make_unique<tls_idle_client>(io_, tls_));
        } else if (o_.transport == "ws") {
            clients_.push_back(std::make_unique<ws_idle_client>(io_, o_.path));
        } else {
            clients_.push_back(std::make_unique<tcp_idle_client>(io_));
        }
    }
    // SIGTERM (how a driver such as bench/compare.py ends the hold once it has measured) or SIGINT, at any time:
    // the connections are then closed here, by reset, not by the kernel at exit. The pending wait also keeps the
    // io_context from stopping itself once the last CONNACK leaves it without work (its run calls would then
    // return at once, and the hold below would spin).
    bool is_interrupted = false;
    boost::asio::signal_set stop{io_, SIGTERM, SIGINT};
    stop.async_wait([&is_interrupted](boost::system::error_code ec, int) { is_interrupted = !ec; });
    const auto start = clock_type::now();
    const auto cpu_at_start = own_cpu_seconds();
    for (unsigned i = 0; i < o_.concurrency; ++i) start_next();
    const auto deadline = start + std::chrono::seconds{300};
    while (ready_ + failed_ < clients_.size() && error_.empty() && !is_interrupted && clock_type::now() < deadline) {
        io_.run_one_for(std::chrono::milliseconds{100});
    }
    if (is_interrupted && error_.empty() && ready_ + failed_ < clients_.size()) error_ = "interrupted";
    const auto took = ready_ == 0 ? 0.0 : std::chrono::duration<double>(last_ready_at_ - start).count();
    // Near 1.0: the generator's one thread, not the broker, may have set the rate.
    const auto own_cores = took > 0 ? (own_cpu_seconds() - cpu_at_start) / took : 0.0;
    std::printf("{\"scenario\":\"conns\",\"transport\":\"%s\",\"connections\":%u,\"connected\":%zu,"
                "\"failed\":%zu,\"connect_s\":%.3f,\"connect_rate\":%.0f,\"concurrency\":%u,\"bench_cores\":%.2f,"
                "\"error\":\"%s\"}\n",
                o_.transport.c_str(), o_.connections, ready_, failed_, took,
                took > 0 ? static_cast<double>(ready_) / took : 0.0, o_.concurrency, own_cores, json_safe(error_).c_str());
    std::fflush(stdout);
    const auto hold_until = clock_type::now() + as_duration(o_.seconds);
    while (error_.empty() && !is_interrupted && clock_type::now() < hold_until) io_.run_one_until(hold_until);
    stop.cancel();
    for (auto& c : clients_) c->close();
    io_.run_for(std::chrono::milliseconds{100});
    return error_.empty() && ready_ == o_.connections ? 0 : 1;
}

void conns_scenario::start_next() {
    if (next_ >= clients_.size()) return;
    const auto n = next_++;
    clients_[n]->start(broker_, id_prefix_ + "c" + std::to_string(n), keep_alive,
                       [this, n](const std::string& error) { on_done(n, error); });
}

void conns_scenario::on_done(std::size_t n, const std::string& error) {
    if (error.empty()) {
        ++ready_;
        last_ready_at_ = clock_type::now();
    } else {
        ++failed_;
        if (error_.empty()) error_ = "connection " + std::to_string(n) + ": " + error;
    }
    start_next();
}

}  // namespace mqttd::bench
