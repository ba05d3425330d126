#include "auth/password_file.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "auth/load_error.hpp"
#include "test_support.hpp"

using namespace mqttd::auth;

namespace {

// Python hashlib vectors (see password_hash_test.cpp): password "correct horse".
constexpr std::string_view sha512_hash =
    "$6$AQIDBAUGBwgJCgsM$"
    "k4h6DJTPKKgPqwiLW87w0j5t6eo2nkDOCc72xNQ6goxbMrAMEDvsnYteF9SSd1cyXtc8SuF5I0GVPt7YRi6Wdw==";
constexpr std::string_view pbkdf2_hash =
    "$7$101$AQIDBAUGBwgJCgsM$mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD+cyTDcrMk08Rnc3N+vIiTgRJqnolJL9TU+/R/"
    "F+mbz31mQG16jg==";
constexpr std::string_view argon2_hash =
    "$argon2id$v=19$m=64,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q/di10m/0dw24OZUhC0";

std::string line(std::string_view user, std::string_view hash) {
    return std::string{user} + ":" + std::string{hash} + "\n";
}

std::string load_error_of(std::string_view text) {
    try {
        password_file::parse(text, "passwords.txt");
    } catch (const load_error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("password_file: every hash kind in one file, each user with its own") {
    const auto file = password_file::parse(
        line("old", sha512_hash) + line("mid", pbkdf2_hash) + line("new", argon2_hash), "passwords.txt");
    CHECK(file.size() == 3);
    for (const auto* user : {"old", "mid", "new"}) {
        CAPTURE(user);
        CHECK(file.verify(user, "correct horse"));
        CHECK_FALSE(file.verify(user, "correct horse2"));
    }
    CHECK_FALSE(file.verify("nobody", "correct horse"));
    CHECK_FALSE(file.verify("Old", "correct horse"));  // usernames are case-sensitive
    CHECK(file.contains("mid"));
    CHECK_FALSE(file.contains("nobody"));
}

TEST_CASE(
    "password_file: comments, blank lines, CRLF, blanks around fields, no final newline (as Mosquitto)") {
    const std::string text =
        "# users of the plant\n"
        "\n"
        "   \t\n"
        "  # an indented comment\n"
        "alice:" +
        std::string{pbkdf2_hash} +
        "\r\n"
        "  bob  :  " +
        std::string{sha512_hash} +
        "  \n"
        "carol:" +
        std::string{argon2_hash};
    const auto file = password_file::parse(text, "passwords.txt");
    CHECK(file.size() == 3);
    CHECK(file.verify("alice", "correct horse"));
    CHECK(file.verify("bob", "correct horse"));
    CHECK(file.verify("carol", "correct horse"));
    CHECK(file.warnings().empty());
}

TEST_CASE(
    "password_file: a user listed twice takes its last line, as Mosquitto 2.0.11 does, with a warning") {
    const auto other = password_hash::make_pbkdf2("second", 10).encoded();
    const auto file = password_file::parse(
        line("alice", pbkdf2_hash) + line("bob", sha512_hash) + line("alice", other), "passwords.txt");
    CHECK(file.size() == 2);
    CHECK(file.verify("alice", "second"));
    CHECK_FALSE(file.verify("alice", "correct horse"));
    REQUIRE(file.warnings().size() == 1);
    CHECK(file.warnings()[0] ==
          "passwords.txt:3: user \"alice\" also on line 1; this line wins, as in Mosquitto");
}

TEST_CASE("password_file: a malformed line stops the load, naming file, line and reason") {
    CHECK(load_error_of("alice:" + std::string{pbkdf2_hash} + "\n\nbob:$5$abc$def\n") ==
          "passwords.txt:3: unknown hash type \"$5$\" (expected $6$, $7$ or $argon2id$)");
    CHECK(load_error_of("alice\n") == "passwords.txt:1: expected username:hash, found no ':'");
    CHECK(load_error_of(":" + std::string{pbkdf2_hash} + "\n") == "passwords.txt:1: empty username");
    CHECK(load_error_of("alice:\n") == "passwords.txt:1: missing password hash");
    CHECK(load_error_of("alice:hunter2\n") ==
          "passwords.txt:1: password is not hashed (mqttd-passwd -U hashes a file of plain-text passwords)");
    CHECK(load_error_of("alice:" + std::string{pbkdf2_hash} + ":extra\n") ==
          "passwords.txt:1: unexpected ':' after the hash");
    CHECK(load_error_of("# c\nalice:$7$101$AQIDBAUGBwgJCgsM$AAAA\n") ==
          "passwords.txt:2: $7$ hash is 3 bytes, expected 64");
}

TEST_CASE("password_file: load reads the file and names it in errors") {
    const test::scratch_dir dir;
    test::write_file(dir / "pw", line("alice", pbkdf2_hash));
    CHECK(password_file::load(dir / "pw").verify("alice", "correct horse"));
    test::write_file(dir / "bad", "x:y:z\n");
    CHECK_THROWS_WITH_AS(password_file::load(dir / "bad"),
                         ((dir / "bad").string() + ":1: unexpected ':' after the hash").c_str(), load_error);
    CHECK_THROWS_WITH_AS(password_file::load(dir / "missing"),
                         ((dir / "missing").string() + ": No such file or directory").c_str(), load_error);
}

TEST_CASE("password_file: an empty file knows nobody") {
    const auto file = password_file::parse("# nobody yet\n", "passwords.txt");
    CHECK(file.size() == 0);
    CHECK_FALSE(file.verify("alice", ""));
    CHECK_FALSE(file.verify("", ""));
}

TEST_CASE("password_file: an unknown user takes as long to reject as a wrong password") {
    // The guarantee is structural: an unknown user is checked against a hash of the cost most of the file's
    // users have, so it does the same work. (Timing is shown, not asserted: a loaded machine makes any
    // time comparison flaky.)
    std::string text;
    for (const auto* user : {"a", "b", "c"})
        text += line(user, password_hash::make_pbkdf2("pw", 30'000).encoded());
    text += line("legacy", sha512_hash);  // the cheap minority must not become the dummy's cost
    const auto file = password_file::parse(text, "passwords.txt");
    CHECK(file.unknown_user_cost() == "sha512-pbkdf2 i=30000");
    CHECK(password_file::parse(line("legacy", sha512_hash), "p").unknown_user_cost() == "sha512");
    CHECK(password_file::parse("", "p").unknown_user_cost() ==
          password_hash::make_argon2id("x").cost());  // nobody yet: the default kind new users get
    const auto fastest = [&](std::string_view user) {
        auto best = std::chrono::steady_clock::duration::max();
        for (int i = 0; i < 3; ++i) {
            const auto start = std::chrono::steady_clock::now();
            CHECK_FALSE(file.verify(user, "wrong"));
            best = std::min(best, std::chrono::steady_clock::now() - start);
        }
        return std::chrono::duration<double>(best).count();
    };
    MESSAGE("wrong password " << fastest("a") * 1e3 << " ms, unknown user " << fastest("nobody") * 1e3 << " ms");
}
