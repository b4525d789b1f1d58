// Runs the Microsoft-examples suite, or reports it skipped (exit 77, which CTest shows as
// "Skipped") with the reason when ../shared/graph-examples is not present.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
    std::error_code ec;
    if (!std::filesystem::is_directory(CDECK_GRAPH_EXAMPLES, ec)) {
        std::printf(
            "SKIPPED: Microsoft's Graph examples folder '%s' is absent (set "
            "CDECK_GRAPH_EXAMPLES)\n",
            CDECK_GRAPH_EXAMPLES);
        return 77;
    }
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
