// Files written by Debian's mosquitto_passwd (2.0.11 on Debian 12), read by password_file. Skipped, with a
// message, on a machine without the tool (.ci/deps --test installs the mosquitto package).

#include "auth/password_file.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "test_support.hpp"

using namespace mqttd::auth;

namespace {

const std::string mosquitto_passwd = "/usr/bin/mosquitto_passwd";

bool has_mosquitto_passwd() {
    if (std::filesystem::exists(mosquitto_passwd)) return true;
    MESSAGE("skipped: " << mosquitto_passwd << " is not installed (Debian package mosquitto)");
    return false;
}

void run_ok(const std::vector<std::string>& argv, std::string_view input = {}) {
    const auto r = test::run_program(argv, input);
    INFO(argv[1] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("mosquitto_passwd compatibility: its default ($7$) and -H sha512 ($6$) files verify here") {
    if (!has_mosquitto_passwd()) return;
    const test::scratch_dir dir;
    const auto file = (dir / "passwords").string();
    run_ok({mosquitto_passwd, "-c", "-b", file, "alice", "alice's secret"});
    run_ok({mosquitto_passwd, "-b", file, "bob", "p\xc3\xa4ss:w\xc3\xb6rd with spaces"});
    run_ok({mosquitto_passwd, "-H", "sha512", "-b", file, "legacy", "old-style"});
    run_ok({mosquitto_passwd, "-H", "sha512-pbkdf2", "-I", "5000", "-b", file, "tuned", "many rounds"});
    // The prompt reads stdin when it is not a terminal: the password twice.
    run_ok({mosquitto_passwd, file, "prompted"}, "typed in\ntyped in\n");
    run_ok({mosquitto_passwd, "-b", file, "alice", "alice's new secret"});  // an update in place

    const auto text = test::read_file(file);
    INFO(text);
    CHECK(text.find("legacy:$6$") != std::string::npos);
    CHECK(text.find("alice:$7$") != std::string::npos);
    CHECK(text.find("tuned:$7$5000$") != std::string::npos);

    const auto passwords = password_file::load(file);
    CHECK(passwords.size() == 5);
    CHECK(passwords.verify("alice", "alice's new secret"));
    CHECK_FALSE(passwords.verify("alice", "alice's secret"));
    CHECK(passwords.verify("bob", "p\xc3\xa4ss:w\xc3\xb6rd with spaces"));
    CHECK_FALSE(passwords.verify("bob", "pass:word with spaces"));
    CHECK(passwords.verify("legacy", "old-style"));
    CHECK_FALSE(passwords.verify("legacy", "old-styl"));
    CHECK(passwords.verify("tuned", "many rounds"));
    CHECK(passwords.verify("prompted", "typed in"));
    CHECK_FALSE(passwords.verify("prompted", "typed in\n"));
    CHECK_FALSE(passwords.verify("carol", "alice's new secret"));
}

TEST_CASE("mosquitto_passwd compatibility: -U hashes a plain-text file we then read; -D removes a user") {
    if (!has_mosquitto_passwd()) return;
    const test::scratch_dir dir;
    const auto file = (dir / "plain").string();
    test::write_file(file, "alice:one\nbob:two\n");
    run_ok({mosquitto_passwd, "-U", file});
    run_ok({mosquitto_passwd, "-D", file, "bob"});
    const auto passwords = password_file::load(file);
    CHECK(passwords.size() == 1);
    CHECK(passwords.verify("alice", "one"));
    CHECK_FALSE(passwords.contains("bob"));
}
