#pragma once
// Prometheus text exposition for the node's /metrics: HELP and TYPE once per metric name,
// then one sample line per call. Threads: a local value of the thread that renders.
#include <string>

namespace cdeck::node {

struct PromText {
    std::string out;
    void Add(const std::string& name, const char* type, const char* help, double value,
             const std::string& labels = {}) {
        if (out.find("# TYPE " + name + " ") == std::string::npos)
            out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
        out += name + labels + " " + std::to_string(value) + "\n";
    }
};

}  // namespace cdeck::node
