#pragma once
// Desktop notifications and the alert sound, for alerts (ui/alerts.hpp). On Linux through
// the Desktop Notifications service on the session D-Bus (org.freedesktop.Notifications);
// the sound is the service's own ("sound-name" hint), so no audio library is linked.
// Where there is no session bus or no service, Send() records why and the app goes on:
// the wall's flash does not depend on it.
// Threads: Send() and the accessors from any thread; one worker thread talks to the bus,
// so a slow bus never stalls a frame. The destructor joins it.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace cdeck::platform {

class DesktopNotifier {
  public:
    struct Note {
        std::string summary;
        std::string body;  // plain text; escaped before it reaches the service
        bool critical = false;
        bool notify = true;  // show it (false: only the sound)
        bool sound = false;
    };
    DesktopNotifier();
    ~DesktopNotifier();
    DesktopNotifier(const DesktopNotifier&) = delete;
    DesktopNotifier& operator=(const DesktopNotifier&) = delete;

    void Send(Note note);  // queued; at most kMaxQueued wait, the oldest go first
    // Waits until everything sent so far was delivered or failed (tests).
    bool WaitIdle(double seconds);
    size_t Delivered() const;
    std::string LastError() const;  // empty when the last note was delivered
    static constexpr size_t kMaxQueued = 16;

    // The body as the service gets it: &, < and > escaped (a service may read markup).
    static std::string EscapeBody(const std::string& text);

  private:
    void Run();
    std::string Deliver(const Note& note);  // "" or why not

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Note> m_queue;
    bool m_stop = false;
    bool m_busy = false;
    size_t m_delivered = 0;
    std::string m_lastError;
    void* m_connection = nullptr;  // DBusConnection*, the worker's only
    std::thread m_thread;
};

}  // namespace cdeck::platform
