#pragma once
// Helpers shared by the test suites.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace cdeck::test {

// Polls `pred` every 20 ms until it holds or `seconds` pass; returns its last value.
template <typename F>
bool WaitFor(F pred, double seconds) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

inline std::string ReadFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::filesystem::path ExamplesDir() {
    return CDECK_GRAPH_EXAMPLES;
}
inline std::filesystem::path AssetsDir() {
    return CDECK_ASSETS_DIR;
}
inline std::filesystem::path FixturesDir() {
    return CDECK_TEST_FIXTURES;
}

// A fresh temporary directory, removed when the object goes away.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static std::atomic<unsigned> counter{0};
        std::random_device rd;
        auto base = std::filesystem::temp_directory_path();
        for (;;) {  // create_directory is false when the name is taken
            path = base / ("cdeck-test-" + std::to_string(rd()) + "-" + std::to_string(++counter));
            if (std::filesystem::create_directory(path)) break;
        }
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace cdeck::test

namespace cdeck::test {
// The error text of a failed Result (empty when it succeeded), for REQUIRE_MESSAGE.
template <typename R>
std::string ErrText(const R& r) {
    return r.ok() ? std::string() : r.error().Describe();
}
}  // namespace cdeck::test
