// libnice (ICE agent) and the GLib main loop it runs on.
#include <glib.h>
#include <gio/gio.h>
#include <agent.h>
