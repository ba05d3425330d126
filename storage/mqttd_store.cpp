// mqttd-store: shows what a broker's store holds (sessions, retained messages, or everything as JSON),
// read-only, while the broker runs or not. See store_command.hpp.

#include <algorithm>
#include <iostream>
#include <string_view>
#include <vector>

#include "storage/store_command.hpp"

int main(int argc, char* argv[]) {
    const std::vector<std::string_view> args(argv + std::min(argc, 1), argv + argc);
    return mqttd::storage::run_store_command(args, std::cout, std::cerr);
}
