#include "broker/http/basic_auth.hpp"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <doctest/doctest.h>

#include "auth/load_error.hpp"
#include "auth/password_hash.hpp"

using namespace mqttd::http;
using namespace std::chrono_literals;

TEST_CASE("basic_auth: the Authorization header is parsed as RFC 7617 says") {
    // "admin:s3cret:with:colons" -- the password may hold ':', the user-id may not.
    const auto c = parse_basic_authorization("Basic YWRtaW46czNjcmV0OndpdGg6Y29sb25z");
    REQUIRE(c);
    CHECK(c->username == "admin");
    CHECK(c->password == "s3cret:with:colons");
    CHECK(parse_basic_authorization("basic  YWRtaW46eA==  ")->password == "x");  // scheme case, blanks
    CHECK(parse_basic_authorization("BASIC YTo=")->username == "a");
    CHECK(parse_basic_authorization("Basic YTo=")->password.empty());
}

TEST_CASE("basic_auth: other schemes, bad base64 and no ':' are no credentials") {
    CHECK_FALSE(parse_basic_authorization(""));
    CHECK_FALSE(parse_basic_authorization("Bearer abc"));
    CHECK_FALSE(parse_basic_authorization("Basic"));
    CHECK_FALSE(parse_basic_authorization("Basic !!!!"));
    CHECK_FALSE(parse_basic_authorization("Basic YWRtaW4="));  // "admin", no colon
}

namespace {

std::filesystem::path write_password_file(const std::string& user, const std::string& password) {
    const auto path = std::filesystem::temp_directory_path() / ("mqttd-http-test-" + std::to_string(::getpid()) + ".txt");
    std::ofstream out{path};
    out << user << ":" << mqttd::auth::password_hash::make_pbkdf2(password, 1000).encoded() << "\n";
    return path;
}

}  // namespace

TEST_CASE("basic_auth: admin_auth checks against the password file and counts failures per address") {
    const auto path = write_password_file("admin", "right");
    admin_auth a{path.string(), 100ms, 1000ms};
    CHECK(a.is_enabled());
    CHECK(a.delay_for("10.0.0.1") == 0ms);
    CHECK(a.check("10.0.0.1", basic_credentials{"admin", "right"}));
    CHECK(a.delay_for("10.0.0.1") == 0ms);
    CHECK_FALSE(a.check("10.0.0.1", basic_credentials{"admin", "wrong"}));
    // One failure from that address: the next attempt waits one step; another address does not.
    CHECK(a.delay_for("10.0.0.1") == 100ms);
    CHECK_FALSE(a.check("10.0.0.1", std::nullopt));
    CHECK(a.delay_for("10.0.0.2") == 0ms);
    CHECK_FALSE(a.check("10.0.0.2", basic_credentials{"nobody", "right"}));
    std::filesystem::remove(path);
}

TEST_CASE("basic_auth: without a password file nothing passes; a broken file stops the load") {
    admin_auth off{"", 0ms, 0ms};
    CHECK_FALSE(off.is_enabled());
    (void)off.delay_for("h");
    CHECK_FALSE(off.check("h", basic_credentials{"admin", "x"}));
    CHECK_THROWS_AS(admin_auth("/nonexistent/mqttd/passwords", 0ms, 0ms), mqttd::auth::load_error);
}
