#include "auth/acl_file.hpp"

#include <doctest/doctest.h>

#include <string>

#include "auth/load_error.hpp"
#include "test_support.hpp"

using namespace mqttd::auth;

namespace {

std::string load_error_of(std::string_view text) {
    try {
        acl_file::parse(text, "acl.conf");
    } catch (const load_error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("acl_file: a malformed line stops the load with file:line: reason") {
    CHECK(load_error_of("# rules\n\nuser alice\ntopic rw a/b\n") ==
          "acl.conf:4: unknown access \"rw\" (expected read, write, readwrite or deny)");
    CHECK(load_error_of("topik read a\n") ==
          "acl.conf:1: unknown keyword \"topik\" (expected user, topic or pattern)");
    CHECK(load_error_of("Topic read a\n") ==
          "acl.conf:1: unknown keyword \"Topic\" (expected user, topic or pattern)");
    CHECK(load_error_of("topic read a/#/b\n") ==
          "acl.conf:1: invalid topic filter \"a/#/b\": '#' is not alone in the last topic level");
    CHECK(load_error_of("pattern write a+/%c\n") ==
          "acl.conf:1: invalid topic filter \"a+/%c\": '+' is not alone in its topic level");
    CHECK(load_error_of("topic read a/\xff\n") ==
          "acl.conf:1: invalid topic filter \"a/\xff\": ill-formed UTF-8 string");
    CHECK(load_error_of("user\n") == "acl.conf:1: missing username after \"user\"");
    CHECK(load_error_of("user   \t\n") == "acl.conf:1: missing username after \"user\"");
    CHECK(load_error_of("topic\n") == "acl.conf:1: missing topic filter after \"topic\"");
    CHECK(load_error_of("pattern \n") == "acl.conf:1: missing topic filter after \"pattern\"");
}

TEST_CASE("acl_file: lines Mosquitto accepts but an operator should hear about") {
    const auto acl = acl_file::parse("topic read\npattern write a/b\ntopic write x/%c\n", "acl.conf");
    REQUIRE(acl.warnings().size() == 3);
    CHECK(acl.warnings()[0] ==
          "acl.conf:1: topic read is a readwrite rule for the topic \"read\", as in "
          "Mosquitto; add a filter to make \"read\" the access");
    CHECK(acl.warnings()[1] ==
          "acl.conf:2: pattern \"a/b\" contains neither %c nor %u, so it applies to every client");
    CHECK(acl.warnings()[2] ==
          "acl.conf:3: topic \"x/%c\" is matched literally: only pattern lines replace %c and %u");
    CHECK(acl.may_publish({std::nullopt, "c"}, "read"));  // what Mosquitto does with it
    CHECK(acl.may_publish({"u", "c"}, "a/b"));
    CHECK(acl.may_publish({std::nullopt, "c"}, "x/%c"));
}

TEST_CASE("acl_file: load names the file") {
    const test::scratch_dir dir;
    test::write_file(dir / "acl.conf", "user alice\ntopic read a/#\n");
    CHECK(acl_file::load(dir / "acl.conf").may_receive({"alice", "c"}, "a/b"));
    test::write_file(dir / "bad.conf", "user alice\ntopic rw a/#\n");
    CHECK_THROWS_WITH_AS(
        acl_file::load(dir / "bad.conf"),
        ((dir / "bad.conf").string() + ":2: unknown access \"rw\" (expected read, write, readwrite or deny)")
            .c_str(),
        load_error);
    CHECK_THROWS_WITH_AS(acl_file::load(dir / "none.conf"),
                         ((dir / "none.conf").string() + ": No such file or directory").c_str(), load_error);
}
