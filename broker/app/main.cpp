// mqttd: parse the command line, load the configuration, run the server until SIGINT/SIGTERM.

#include <csignal>
#include <future>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "auth/load_error.hpp"
#include "auth/password_file.hpp"
#include "broker/app/config.hpp"
#include "broker/app/reloader.hpp"
#include "broker/http/server.hpp"
#include "broker/logging/log.hpp"
#include "broker/net/access_control.hpp"
#include "broker/net/prometheus_text.hpp"
#include "broker/net/server.hpp"
#include "broker/version.hpp"

namespace {


constexpr std::string_view usage = R"(Usage: mqttd [-c FILE] [-p PORT] [-v]
       mqttd --check -c FILE
MQTT 3.1.1 broker.

  -c, --config FILE   configuration file (JSON, comments allowed); without it: 127.0.0.1:1883, anonymous
  -p, --port PORT     listen on PORT instead of the first listener's port
  -v, --verbose       log at debug level
      --check         validate the configuration and exit (0: valid, 2: invalid)
      --version       print the version and exit
  -h, --help          print this help and exit
)";

struct command_line {
    std::optional<std::string> config_file;
    std::optional<long> port;
    bool is_verbose = false;
    bool is_check = false;
};

[[noreturn]] void usage_error(const std::string& what) {
    std::cerr << "mqttd: " << what << "\n" << usage;
    std::exit(2);
}

command_line parse_command_line(int argc, char** argv) {
    command_line cl;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(std::string{arg} + " needs a value");
            return argv[++i];
        };
        if (arg == "-c" || arg == "--config") {
            cl.config_file = value();
        } else if (arg == "-p" || arg == "--port") {
            const auto text = value();
            char* end = nullptr;
            const long port = std::strtol(text.c_str(), &end, 10);
            if (text.empty() || *end != '\0' || port < 0 || port > 65535)
                usage_error("-p: expected a port 0..65535, got \"" + text + "\"");
            cl.port = port;
        } else if (arg == "-v" || arg == "--verbose") {
            cl.is_verbose = true;
        } else if (arg == "--check") {
            cl.is_check = true;
        } else if (arg == "--version") {
            std::cout << "mqttd " << mqttd::version << "\n";
            std::exit(0);
        } else if (arg == "-h" || arg == "--help") {
            std::cout << usage;
            std::exit(0);
        } else {
            usage_error("unknown option \"" + std::string{arg} + "\"");
        }
    }
    if (cl.is_check && !cl.config_file) usage_error("--check needs -c FILE");
    return cl;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace mqttd;
    const auto cl = parse_command_line(argc, argv);

    app::config cfg;
    try {
        cfg = cl.config_file ? app::load_config_file(*cl.config_file) : app::default_config();
    } catch (const app::config_error& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    if (cl.is_check) {
        // The password and ACL files are part of the configuration: --check reads them too.
        try {
            const net::access_control files{cfg.server.auth};
            if (!cfg.http.admin.password_file.empty()) auth::password_file::load(cfg.http.admin.password_file);
        } catch (const auth::load_error& e) {
            std::cerr << e.what() << "\n";
            return 2;
        }
        std::cout << *cl.config_file << ": OK\n";
        return 0;
    }
    app::command_line_overrides overrides;
    if (cl.port) overrides.port = static_cast<std::uint16_t>(*cl.port);
    overrides.is_verbose = cl.is_verbose;
    app::apply_overrides(cfg, overrides);
    logging::set_level(app::effective_log_level(cfg, overrides));

    // Set before any worker thread exists, so every thread inherits it: a peer that vanishes mid-write
    // gives EPIPE on that one connection instead of killing the broker.
    std::signal(SIGPIPE, SIG_IGN);

    // SIGHUP reloads; SIGINT/SIGTERM stop. Signals are handled here, on the main thread. Caught from before
    // the store is read: a SIGTERM during recovery, or the moment the listeners open, is a clean shutdown
    // once start-up is over, never the default action that would kill the broker mid-way.
    boost::asio::io_context signals_context{1};
    boost::asio::signal_set stop_signals{signals_context, SIGINT, SIGTERM};
    boost::asio::signal_set reload_signal{signals_context, SIGHUP};

    std::optional<net::server> server;
    std::optional<http::server> http_server;
    std::optional<app::reloader> reloader;
    http::http_options running_http = cfg.http;
    http::api_hooks hooks;
    // The http listeners and the admin section are served by one http::server: a reload that changes them
    // replaces it. Run from the main thread's loop, after the reload that asked for it has answered: a POST
    // /api/v1/reload waits for that answer on the HTTP thread that stop() joins.
    const auto replace_http_server = [&] {
        const auto& next = reloader->running().http;
        if (next == running_http) return;
        if (http_server) http_server->stop();
        http_server.reset();
        try {
            if (!next.listeners.empty()) {
                http_server.emplace(next, *server, hooks);
                http_server->start();
            }
            running_http = next;
        } catch (const std::exception& e) {
            // A port another process took, say: the next reload tries again (running_http is the old one).
            logging::log_line{logging::level::error} << "event=http_restart_failed reason=" << logging::quoted{e.what()};
        }
    };
    // Every reload (SIGHUP, POST /api/v1/reload) goes through this one function, on the main thread.
    const auto reload_all = [&](std::string_view source) -> http::reload_result {
        logging::log_line{logging::level::info} << "event=reload source=" << source;
        const auto outcome = reloader->reload_configuration();
        if (!outcome.ok) return {false, outcome.message};
        if (reloader->running().http != running_http) {
            boost::asio::post(signals_context, replace_http_server);
        } else if (http_server) {
            try {
                http_server->reload_passwords();
            } catch (const std::exception& e) {
                logging::log_line{logging::level::warning}
                    << "event=admin_auth_reload_failed reason=" << logging::quoted{e.what()} << " kept=previous";
                return {false, std::string{"admin.password_file: "} + e.what()};
            }
        }
        return {true, outcome.message};
    };
    try {
        server.emplace(cfg.server);
        {
            hooks.metrics_source = [&] { return net::render_prometheus(server->stats()); };
            // On the HTTP thread: the reload itself runs on the main thread, one at a time with SIGHUP's.
            hooks.reload_action = [&]() -> http::reload_result {
                auto task = std::make_shared<std::packaged_task<http::reload_result()>>([&] { return reload_all("api"); });
                auto result = task->get_future();
                boost::asio::post(signals_context, [task] { (*task)(); });
                if (result.wait_for(std::chrono::seconds{30}) != std::future_status::ready)
                    return {false, "the reload did not finish in 30 s"};
                return result.get();
            };
            if (!cfg.http.listeners.empty()) http_server.emplace(cfg.http, *server, hooks);
        }
    } catch (const auth::load_error& e) {
        // A broken password or ACL file is a configuration error: file, line, reason, and exit 2.
        std::cerr << e.what() << "\n";
        return 2;
    } catch (const storage::storage_error& e) {
        // The store cannot be opened (held by another mqttd, unreadable, corrupt): say so and stop.
        logging::log_line{logging::level::error} << "event=startup_failed reason=" << logging::quoted{e.what()};
        std::cerr << "mqttd: persistence.dir: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        logging::log_line{logging::level::error} << "event=startup_failed reason=" << logging::quoted{e.what()};
        return 1;
    }
    server->start();
    reloader.emplace(*server, cl.config_file, cfg, overrides);
    if (http_server) http_server->start();

    // Once a minute, a line summing up drops and refusals (only when something changed).
    boost::asio::steady_timer summary_timer{signals_context};
    stop_signals.async_wait([&](const boost::system::error_code&, int signal_number) {
        logging::log_line{logging::level::info} << "event=shutdown signal=" << signal_number;
        reload_signal.cancel();
        summary_timer.cancel();
    });
    std::function<void(const boost::system::error_code&, int)> on_reload = [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        reload_all("SIGHUP");
        reload_signal.async_wait(on_reload);
    };
    reload_signal.async_wait(on_reload);
    std::function<void(const boost::system::error_code&)> on_summary = [&](const boost::system::error_code& ec) {
        if (ec) return;
        server->log_summary();
        summary_timer.expires_after(std::chrono::minutes{1});
        summary_timer.async_wait(on_summary);
    };
    summary_timer.expires_after(std::chrono::minutes{1});
    summary_timer.async_wait(on_summary);
    signals_context.run();

    if (http_server) http_server->stop();  // before the broker: its requests wait on the workers
    server->stop(std::chrono::seconds{3});
    server->log_summary();  // what changed since the last minute's line
    std::fflush(stderr);
    // Every connection has been closed and flushed, and the store's log written and synced (server::stop),
    // so skip tearing down the workers' event loops one by one.
    std::_Exit(0);
}
