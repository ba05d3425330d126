#include "auth/passwd_command.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mqttd::auth;

namespace {

passwd_command parse(std::vector<std::string_view> args) { return parse_passwd_command(args); }

std::string refusal(std::vector<std::string_view> args) {
    try {
        parse_passwd_command(args);
    } catch (const usage_error& e) {
        return e.shows_usage() ? std::string{"(usage)"} + e.what() : e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("passwd_command: mosquitto_passwd's forms") {
    auto c = parse({"pw.txt", "alice"});
    CHECK(c.what == passwd_command::action::add_or_update);
    CHECK(c.file == "pw.txt");
    CHECK(c.username == "alice");
    CHECK_FALSE(c.password);
    CHECK(c.kind == hash_kind::argon2id);

    c = parse({"-c", "pw.txt", "alice"});
    CHECK(c.what == passwd_command::action::create);

    c = parse({"-b", "pw.txt", "alice", "s3cret"});
    CHECK(c.what == passwd_command::action::add_or_update);
    CHECK(c.password == std::optional<std::string>{"s3cret"});

    c = parse({"-c", "-b", "pw.txt", "alice", "s3cret"});
    CHECK(c.what == passwd_command::action::create);

    c = parse({"-D", "pw.txt", "alice"});
    CHECK(c.what == passwd_command::action::remove);

    c = parse({"-U", "pw.txt"});
    CHECK(c.what == passwd_command::action::hash_plain_text);
    CHECK(c.file == "pw.txt");

    c = parse({"-H", "sha512-pbkdf2", "-I", "300000", "-b", "pw.txt", "alice", "x"});
    CHECK(c.kind == hash_kind::sha512_pbkdf2);
    CHECK(c.iterations == 300000);

    c = parse({"-H", "sha512-pbkdf2", "pw.txt", "alice"});
    CHECK(c.iterations == default_pbkdf2_iterations);

    CHECK(parse({"--help"}).what == passwd_command::action::show_help);
}

TEST_CASE("passwd_command: refusals with mosquitto_passwd's messages") {
    CHECK(refusal({}) == "(usage)");
    CHECK(refusal({"pw.txt"}) == "(usage)");
    CHECK(refusal({"pw.txt", "alice", "extra"}) == "(usage)");
    CHECK(refusal({"-b", "pw.txt", "alice"}) == "(usage)");
    CHECK(refusal({"-H"}) == "-H argument given but not enough other arguments.");
    CHECK(refusal({"-H", "md5", "pw", "u"}) ==
          "Unknown hash type 'md5' (expected argon2id or sha512-pbkdf2).");
    CHECK(refusal({"-H", "sha512", "pw", "u"}).starts_with("-H sha512 is not offered"));
    CHECK(refusal({"-I"}) == "-I argument given but not enough other arguments.");
    CHECK(refusal({"-H", "sha512-pbkdf2", "-I", "0", "pw", "u"}) ==
          "Number of iterations must be from 1 to 2147483647.");
    CHECK(refusal({"-H", "sha512-pbkdf2", "-I", "12x", "pw", "u"}) ==
          "Number of iterations must be from 1 to 2147483647.");
    CHECK(refusal({"-I", "1000", "pw", "u"}) == "-I applies to -H sha512-pbkdf2 only.");
    CHECK(refusal({"-c", "-D", "pw", "u"}) == "-c and -D cannot be used together.");
    CHECK(refusal({"-c", "-U", "pw"}) == "-c and -U cannot be used together.");
    CHECK(refusal({"-D", "-U", "pw"}) == "-D and -U cannot be used together.");
    CHECK(refusal({"-b", "-D", "pw", "u"}) == "-b and -D cannot be used together.");
    CHECK(refusal({"-c", "pw"}) == "-c argument given but password file or username missing.");
    CHECK(refusal({"-c", "-b", "pw", "u"}) ==
          "-c argument given but password file, username, or password missing.");
    CHECK(refusal({"-D", "pw"}) == "-D argument given but password file or username missing.");
    CHECK(refusal({"-U"}) == "-U argument given but password file missing.");
}
