// Sends one desktop notification through the app's notifier (platform/notify.hpp) and says
// what happened: "delivered" or "error: <why>". For tests/smoke/dbus_notify.sh.
//   notify_probe SUMMARY BODY [critical] [sound]
#include <cstdio>
#include <cstring>

#include "platform/notify.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: notify_probe SUMMARY BODY [critical] [sound]\n");
        return 2;
    }
    cdeck::platform::DesktopNotifier::Note note;
    note.summary = argv[1];
    note.body = argv[2];
    for (int i = 3; i < argc; ++i) {
        note.critical |= std::strcmp(argv[i], "critical") == 0;
        note.sound |= std::strcmp(argv[i], "sound") == 0;
    }
    cdeck::platform::DesktopNotifier notifier;
    notifier.Send(note);
    if (!notifier.WaitIdle(10)) {
        std::printf("error: timed out\n");
        return 1;
    }
    if (notifier.Delivered() == 1)
        std::printf("delivered\n");
    else
        std::printf("error: %s\n", notifier.LastError().c_str());
    return 0;
}
