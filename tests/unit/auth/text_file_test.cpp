#include "auth/text_file.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <sys/stat.h>

#include "auth/load_error.hpp"
#include "test_support.hpp"

using namespace mqttd::auth;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    line_cursor cursor{text};
    std::string_view line;
    while (cursor.next(line)) lines.emplace_back(line);
    return lines;
}

fs::perms mode_of(const fs::path& p) { return fs::status(p).permissions(); }

}  // namespace

TEST_CASE("line_cursor: LF and CRLF endings, a last line without one, numbers from 1") {
    CHECK(lines_of("").empty());
    CHECK(lines_of("a\nb\r\n\nc") == std::vector<std::string>{"a", "b", "", "c"});
    CHECK(lines_of("a\n") == std::vector<std::string>{"a"});
    line_cursor cursor{"x\ny\n"};
    std::string_view line;
    cursor.next(line);
    cursor.next(line);
    CHECK(cursor.number() == 2);
    CHECK_FALSE(cursor.next(line));
}

TEST_CASE("read_text_file: the whole file; an error names the path and the system's reason") {
    const test::scratch_dir dir;
    test::write_file(dir / "f", std::string(100'000, 'x') + "\nend");
    CHECK(read_text_file(dir / "f").size() == 100'004);
    CHECK_THROWS_WITH_AS(read_text_file(dir.path()), (dir.path().string() + ": Is a directory").c_str(),
                         load_error);
    CHECK_THROWS_WITH_AS(read_text_file(dir / "none"),
                         ((dir / "none").string() + ": No such file or directory").c_str(), load_error);
}

TEST_CASE("trim_blanks: spaces, tabs and line ends on both sides") {
    CHECK(trim_blanks(" \t a b \r\n") == "a b");
    CHECK(trim_blanks(" \t ").empty());
}

TEST_CASE(
    "write_file_atomically: a new file is 0600, an existing one keeps its mode, nothing is left behind") {
    const test::scratch_dir dir;
    write_file_atomically(dir / "new", "one\n");
    CHECK(test::read_file(dir / "new") == "one\n");
    CHECK(mode_of(dir / "new") == (fs::perms::owner_read | fs::perms::owner_write));

    test::write_file(dir / "shared", "old\n");
    fs::permissions(dir / "shared", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    write_file_atomically(dir / "shared", "new\n");
    CHECK(test::read_file(dir / "shared") == "new\n");
    CHECK(mode_of(dir / "shared") ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));

    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator{dir.path()}) ++entries;
    CHECK(entries == 2);  // no temporary file left
}

TEST_CASE("write_file_atomically: a symbolic link is followed, the link itself stays") {
    const test::scratch_dir dir;
    test::write_file(dir / "real", "old\n");
    fs::create_symlink(dir / "real", dir / "link");
    write_file_atomically(dir / "link", "new\n");
    CHECK(fs::is_symlink(dir / "link"));
    CHECK(test::read_file(dir / "real") == "new\n");
}

TEST_CASE("write_file_atomically: a directory that does not exist fails with the path, and changes nothing") {
    const test::scratch_dir dir;
    CHECK_THROWS_AS(write_file_atomically(dir / "no" / "such", "x"), std::system_error);
    CHECK_FALSE(fs::exists(dir / "no"));
}
