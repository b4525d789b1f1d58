// $batch responses from untrusted bytes: every requested id gets exactly one result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "graph/graph_client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const cdeck::core::BatchBuilder sent = [] {
        cdeck::core::BatchBuilder b;
        for (const char* id : {"1", "2", "3"}) (void)b.Add({id, "GET", "/teams"});
        return b;
    }();
    auto r = cdeck::core::SplitBatchResponse(std::string(reinterpret_cast<const char*>(data), size),
                                             sent, 0);
    if (r.ok()) {
        if (r->size() != sent.Size()) std::abort();
        for (size_t i = 0; i < r->size(); ++i) {
            if (r->at(i).id != sent.Requests()[i].id) std::abort();
            if (!r->at(i).ok()) (void)r->at(i).AsError().Describe();
        }
    }
    return 0;
}
