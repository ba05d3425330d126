// Test helper: opens the store in argv[1] (taking its lock), prints "ready", and keeps it open until its
// stdin reaches end of file. The "in use by another process" test runs it beside its own open.

#include <exception>
#include <iostream>
#include <string>

#include "storage/rocksdb_engine.hpp"

int main(int argc, char* argv[]) {
    if (argc != 2) {
        std::cerr << "usage: mqttd_storage_lock_holder DIR\n";
        return 2;
    }
    try {
        const auto store = mqttd::storage::rocksdb_engine::open(argv[1]);
        (void)store->recover();
        std::cout << "ready" << std::endl;
        std::string ignored;
        while (std::getline(std::cin, ignored)) {
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
}
