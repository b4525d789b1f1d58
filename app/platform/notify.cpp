#include "platform/notify.hpp"

#ifdef CDECK_HAVE_DBUS
#include <dbus/dbus.h>
#endif

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <cstdint>

#include "util/log.hpp"

namespace cdeck::platform {

DesktopNotifier::DesktopNotifier() : m_thread([this] { Run(); }) {}

DesktopNotifier::~DesktopNotifier() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
#ifdef CDECK_HAVE_DBUS
    if (m_connection) {
        auto* c = static_cast<DBusConnection*>(m_connection);
        dbus_connection_close(c);
        dbus_connection_unref(c);
    }
#endif
}

void DesktopNotifier::Send(Note note) {
    {
        std::lock_guard lock(m_mutex);
        if (m_queue.size() >= kMaxQueued) m_queue.pop_front();
        m_queue.push_back(std::move(note));
    }
    m_cv.notify_all();
}

bool DesktopNotifier::WaitIdle(double seconds) {
    std::unique_lock lock(m_mutex);
    return m_cv.wait_for(lock, std::chrono::duration<double>(seconds),
                         [this] { return m_queue.empty() && !m_busy; });
}

size_t DesktopNotifier::Delivered() const {
    std::lock_guard lock(m_mutex);
    return m_delivered;
}

std::string DesktopNotifier::LastError() const {
    std::lock_guard lock(m_mutex);
    return m_lastError;
}

std::string DesktopNotifier::EscapeBody(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        if (ch == '&')
            out += "&amp;";
        else if (ch == '<')
            out += "&lt;";
        else if (ch == '>')
            out += "&gt;";
        else
            out += ch;
    }
    return out;
}

void DesktopNotifier::Run() {
    std::unique_lock lock(m_mutex);
    while (true) {
        m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
        if (m_stop) return;
        Note note = std::move(m_queue.front());
        m_queue.pop_front();
        m_busy = true;
        lock.unlock();
        std::string error = Deliver(note);
        lock.lock();
        m_busy = false;
        if (error.empty()) {
            ++m_delivered;
        } else if (error != m_lastError) {
            CDECK_LOG_WARN("notify", error);  // once per distinct reason
        }
        m_lastError = error;
        m_cv.notify_all();
    }
}

#ifdef CDECK_HAVE_DBUS
namespace {

void AppendHint(DBusMessageIter* dict, const char* key, int type, const void* value) {
    const char sig[2] = {static_cast<char>(type), 0};
    DBusMessageIter entry, variant;
    dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, nullptr, &entry);
    dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
    dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, sig, &variant);
    dbus_message_iter_append_basic(&variant, type, value);
    dbus_message_iter_close_container(&entry, &variant);
    dbus_message_iter_close_container(dict, &entry);
}

// Notify(app_name s, replaces_id u, app_icon s, summary s, body s, actions as,
//        hints a{sv}, expire_timeout i), per the Desktop Notifications specification.
DBusMessage* NotifyCall(const DesktopNotifier::Note& note, const std::string& body) {
    DBusMessage* m = dbus_message_new_method_call("org.freedesktop.Notifications",
                                                  "/org/freedesktop/Notifications",
                                                  "org.freedesktop.Notifications", "Notify");
    if (!m) return nullptr;
    const char* app = "ChannelDeck";
    const char* icon = note.critical ? "dialog-error" : "dialog-warning";
    const char* summary = note.summary.c_str();
    const char* text = body.c_str();
    dbus_uint32_t replaces = 0;
    dbus_int32_t expire = note.critical ? 0 : -1;  // critical: until dismissed
    DBusMessageIter args, actions, hints;
    dbus_message_iter_init_append(m, &args);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &app);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_UINT32, &replaces);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &icon);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &summary);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &text);
    dbus_message_iter_open_container(&args, DBUS_TYPE_ARRAY, "s", &actions);
    dbus_message_iter_close_container(&args, &actions);
    dbus_message_iter_open_container(&args, DBUS_TYPE_ARRAY, "{sv}", &hints);
    unsigned char urgency = note.critical ? 2 : 1;
    AppendHint(&hints, "urgency", DBUS_TYPE_BYTE, &urgency);
    const char* category = "im.received";
    AppendHint(&hints, "category", DBUS_TYPE_STRING, &category);
    if (note.sound) {
        const char* sound = note.critical ? "dialog-error" : "message-new-instant";
        AppendHint(&hints, "sound-name", DBUS_TYPE_STRING, &sound);
    } else {
        dbus_bool_t quiet = TRUE;
        AppendHint(&hints, "suppress-sound", DBUS_TYPE_BOOLEAN, &quiet);
    }
    if (!note.notify) {  // the sound alone: a transient note that does not stay on screen
        dbus_bool_t transient = TRUE;
        AppendHint(&hints, "transient", DBUS_TYPE_BOOLEAN, &transient);
        expire = 1;
    }
    dbus_message_iter_close_container(&args, &hints);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_INT32, &expire);
    return m;
}

}  // namespace

std::string DesktopNotifier::Deliver(const Note& note) {
    DBusError err;
    dbus_error_init(&err);
    if (!m_connection) {
        // Only a bus that is already there: libdbus would otherwise try to autolaunch one
        // (dbus-launch), which a kiosk or a service must not start as a side effect.
        const char* address = std::getenv("DBUS_SESSION_BUS_ADDRESS");
        const char* runtime = std::getenv("XDG_RUNTIME_DIR");
        std::error_code ec;
        if ((!address || !*address) &&
            !(runtime && *runtime &&
              std::filesystem::exists(std::filesystem::path(runtime) / "bus", ec)))
            return "desktop notifications unavailable: no session bus "
                   "(DBUS_SESSION_BUS_ADDRESS is not set)";
        DBusConnection* c = dbus_bus_get_private(DBUS_BUS_SESSION, &err);
        if (!c) {
            std::string why = "desktop notifications unavailable: no session bus (" +
                              std::string(err.message ? err.message : "unknown") + ")";
            dbus_error_free(&err);
            return why;
        }
        dbus_connection_set_exit_on_disconnect(c, FALSE);
        m_connection = c;
    }
    auto* c = static_cast<DBusConnection*>(m_connection);
    DBusMessage* call = NotifyCall(note, EscapeBody(note.body));
    if (!call) return "desktop notification not sent: out of memory";
    DBusMessage* reply = dbus_connection_send_with_reply_and_block(c, call, 3000, &err);
    dbus_message_unref(call);
    if (!reply) {
        std::string why =
            "desktop notification not shown: " + std::string(err.name ? err.name : "error") + ": " +
            std::string(err.message ? err.message : "");
        dbus_error_free(&err);
        if (!dbus_connection_get_is_connected(c)) {  // reconnect next time
            dbus_connection_unref(c);
            m_connection = nullptr;
        }
        return why;
    }
    dbus_message_unref(reply);
    return {};
}
#else
std::string DesktopNotifier::Deliver(const Note&) {
    return "desktop notifications unavailable: built without D-Bus";
}
#endif

}  // namespace cdeck::platform
