#include "auth/password_file_edit.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/load_error.hpp"
#include "auth/password_file.hpp"
#include "auth/password_hash.hpp"

using namespace mqttd::auth;

TEST_CASE("set_user: replaces the user's line in place and keeps every other line byte for byte") {
    const std::string text = "# plant users\r\nalice:OLD1\r\n\nbob:OLD2\ncarol:OLD3";
    CHECK(set_user(text, "pw", "bob", "NEW") == "# plant users\r\nalice:OLD1\r\n\nbob:NEW\ncarol:OLD3");
    SUBCASE("a new user is appended, after a newline the last line lacked") {
        CHECK(set_user(text, "pw", "dave", "NEW") == text + "\ndave:NEW\n");
        CHECK(set_user("", "pw", "dave", "NEW") == "dave:NEW\n");
    }
    SUBCASE("a user listed twice gets the new hash on both lines, as mosquitto_passwd does") {
        CHECK(set_user("a:1\nb:2\na:3\n", "pw", "a", "N") == "a:N\nb:2\na:N\n");
    }
    SUBCASE("blanks around the username still name the user") {
        CHECK(set_user("  bob : OLD\n", "pw", "bob", "NEW") == "bob:NEW\n");
    }
}

TEST_CASE("remove_user: every line of the user goes; an absent user is reported") {
    CHECK(remove_user("a:1\nb:2\na:3\n", "pw", "a") == std::optional<std::string>{"b:2\n"});
    CHECK(remove_user("# only\nb:2\n", "pw", "b") == std::optional<std::string>{"# only\n"});
    CHECK_FALSE(remove_user("b:2\n", "pw", "a"));
}

TEST_CASE("edits stop at a corrupt line, as mosquitto_passwd does, naming it") {
    CHECK_THROWS_WITH_AS(set_user("a:1\nnonsense\n", "pw.txt", "a", "N"),
                         "pw.txt:2: corrupt line: expected username:password", load_error);
    CHECK_THROWS_WITH_AS(remove_user("a:\n", "pw.txt", "a"),
                         "pw.txt:1: corrupt line: expected username:password", load_error);
    CHECK_THROWS_WITH_AS(hash_plain_text(":x\n", "pw.txt", [](std::string_view) { return std::string{}; }),
                         "pw.txt:1: corrupt line: expected username:password", load_error);
}

TEST_CASE("hash_plain_text: plain passwords are hashed, hashes are kept, so a second run changes nothing") {
    const auto kept = password_hash::make_pbkdf2("old secret", 10).encoded();
    const std::string text = "# converted from plain text\nalice: s3cret \nbob:" + kept + "\ncarol:pa:ss\n";
    std::vector<std::string> hashed;
    const auto hash = [&](std::string_view password) {
        hashed.emplace_back(password);
        return password_hash::make_pbkdf2(password, 10).encoded();
    };
    const auto once = hash_plain_text(text, "pw", hash);
    CHECK(hashed == std::vector<std::string>{"s3cret", "pa:ss"});  // trimmed; ':' inside a password stays
    const auto file = password_file::parse(once, "pw");
    CHECK(file.verify("alice", "s3cret"));
    CHECK(file.verify("bob", "old secret"));
    CHECK(file.verify("carol", "pa:ss"));
    CHECK(once.starts_with("# converted from plain text\n"));
    CHECK(hash_plain_text(once, "pw", hash) == once);
}

TEST_CASE("username_problem and password_problem: mosquitto_passwd's rules and messages") {
    CHECK(username_problem("alice").empty());
    CHECK(username_problem("carol smith").empty());
    CHECK(username_problem("a:b") == "Username must not contain the ':' character.");
    CHECK(username_problem("a\tb") == "Username must not contain control characters.");
    CHECK(username_problem(std::string(65536, 'u')) == "Username must be less than 65536 characters long.");
    CHECK(username_problem("") == "Username must not be empty.");
    CHECK(password_problem("x").empty());
    CHECK(password_problem("") == "Empty password.");
    CHECK(password_problem(std::string(65536, 'p')) == "Password must be less than 65536 characters long.");
}
