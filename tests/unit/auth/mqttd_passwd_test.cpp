// mqttd-passwd end to end: the real executable on real files, each result read back by password_file.

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "auth/password_file.hpp"
#include "test_support.hpp"

using namespace mqttd::auth;
namespace fs = std::filesystem;

namespace {

const std::string mqttd_passwd = MQTTD_PASSWD_PATH;  // from CMake: $<TARGET_FILE:mqttd-passwd>

test::run_result run(std::vector<std::string> args, std::string_view input = {}) {
    args.insert(args.begin(), mqttd_passwd);
    return test::run_program(args, input);
}

void run_ok(std::vector<std::string> args, std::string_view input = {}) {
    const auto r = run(args, input);
    INFO(args[0] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("mqttd-passwd: create, add, update, delete, batch and prompt, each checked with password_file") {
    const test::scratch_dir dir;
    const auto file = (dir / "passwords").string();

    run_ok({"-c", "-b", file, "alice", "first"});
    CHECK(fs::status(file).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(test::read_file(file).starts_with("alice:$argon2id$v=19$m=19456,t=2,p=1$"));

    run_ok({"-H", "sha512-pbkdf2", "-b", file, "bob", "bob pw"});
    CHECK(test::read_file(file).find("\nbob:$7$210000$") != std::string::npos);

    const auto prompted = run({file, "carol"}, "carol pw\ncarol pw\n");
    CHECK(prompted.exit_code == 0);
    CHECK(prompted.out == "Password: \nReenter password: \n");

    run_ok({"-b", file, "alice", "second"});  // update in place
    auto passwords = password_file::load(file);
    CHECK(passwords.size() == 3);
    CHECK(passwords.verify("alice", "second"));
    CHECK_FALSE(passwords.verify("alice", "first"));
    CHECK(passwords.verify("bob", "bob pw"));
    CHECK(passwords.verify("carol", "carol pw"));
    CHECK(test::read_file(file).starts_with("alice:"));  // the line stayed where it was

    run_ok({"-D", file, "bob"});
    passwords = password_file::load(file);
    CHECK(passwords.size() == 2);
    CHECK_FALSE(passwords.contains("bob"));

    SUBCASE("-c overwrites") {
        run_ok({"-c", "-b", file, "dave", "d"});
        passwords = password_file::load(file);
        CHECK(passwords.size() == 1);
        CHECK(passwords.verify("dave", "d"));
    }
    SUBCASE("an existing file keeps its mode and its comments") {
        fs::permissions(file, fs::perms::group_read, fs::perm_options::add);
        test::write_file(file, "# managed by mqttd-passwd\n" + test::read_file(file));
        run_ok({"-b", file, "erin", "e"});
        CHECK(fs::status(file).permissions() ==
              (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
        CHECK(test::read_file(file).starts_with("# managed by mqttd-passwd\n"));
        CHECK(password_file::load(file).verify("erin", "e"));
    }
}

TEST_CASE("mqttd-passwd -U: hashes a plain-text file in place, with the kind asked for") {
    const test::scratch_dir dir;
    const auto file = (dir / "plain").string();
    test::write_file(file, "alice:one\nbob:two\n");
    run_ok({"-H", "sha512-pbkdf2", "-I", "1000", "-U", file});
    const auto text = test::read_file(file);
    CHECK(text.starts_with("alice:$7$1000$"));
    auto passwords = password_file::load(file);
    CHECK(passwords.verify("alice", "one"));
    CHECK(passwords.verify("bob", "two"));
    run_ok({"-U", file});  // nothing left to hash: unchanged
    CHECK(test::read_file(file) == text);
}

TEST_CASE("mqttd-passwd: errors exit 1 with mosquitto_passwd's message on stderr and leave the file alone") {
    const test::scratch_dir dir;
    const auto file = (dir / "passwords").string();
    run_ok({"-c", "-b", file, "alice", "a"});
    const auto before = test::read_file(file);

    const auto check_error = [&](std::vector<std::string> args, std::string_view input,
                                 std::string_view message) {
        const auto r = run(args, input);
        CAPTURE(message);
        CHECK(r.exit_code == 1);
        CHECK(r.err.starts_with(message));
        CHECK(test::read_file(file) == before);
    };
    check_error({file, "bob"}, "one\ntwo\n", "Error: Passwords do not match.\n");
    check_error({file, "bob"}, "\n", "Error: Empty password.\n");
    check_error({file, "bob"}, "", "Error: Empty password.\n");
    check_error({"-D", file, "nobody"}, "", "Warning: User nobody not found in password file.\n");
    check_error({"-b", file, "a:b", "x"}, "", "Error: Username must not contain the ':' character.\n");
    check_error({"-H", "sha512", "-b", file, "bob", "x"}, "", "Error: -H sha512 is not offered");
    check_error({"-b", file}, "", "mqttd-passwd is a tool for managing password files");
    check_error({"-b", (dir / "missing").string(), "bob", "x"}, "",
                "Error: Unable to open password file " + (dir / "missing").string() +
                    ". No such file or directory.\n");
    test::write_file(dir / "corrupt", "alice:x\nnonsense\n");
    const auto r = run({"-b", (dir / "corrupt").string(), "bob", "x"});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "Error: " + (dir / "corrupt").string() + ":2: corrupt line: expected username:password\n");
}

TEST_CASE("mqttd-passwd: --help prints the usage and exits 0") {
    const auto r = run({"--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Usage: mqttd-passwd") != std::string::npos);
}
