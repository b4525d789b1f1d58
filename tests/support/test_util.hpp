#pragma once
// Helpers shared by the test suites.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cdeck::test {

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
        char tmpl[] = "/tmp/cdeck-test-XXXXXX";
        path = mkdtemp(tmpl);
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
