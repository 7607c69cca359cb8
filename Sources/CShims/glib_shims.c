#include "CShims.h"

typedef struct {
    GSource base;
    void (*fn)(void *data);
    void *data;
} SluiceWakeSource;

static gboolean sluice_wake_dispatch(GSource *source, GSourceFunc callback, gpointer user_data) {
    (void)callback; (void)user_data;
    SluiceWakeSource *wake = (SluiceWakeSource *)source;
    // Re-arm before running so a signal that arrives while fn runs is not lost.
    g_source_set_ready_time(source, -1);
    wake->fn(wake->data);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs sluice_wake_funcs = { NULL, NULL, sluice_wake_dispatch, NULL, NULL, NULL };

GSource *sluice_wake_source_new(GMainContext *context, void (*fn)(void *data), void *data) {
    GSource *source = g_source_new(&sluice_wake_funcs, sizeof(SluiceWakeSource));
    SluiceWakeSource *wake = (SluiceWakeSource *)source;
    wake->fn = fn;
    wake->data = data;
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_ready_time(source, -1);
    g_source_attach(source, context);
    return source;
}

void sluice_wake_source_signal(GSource *source) {
    // Thread safe: takes the context lock and wakes the loop when needed.
    g_source_set_ready_time(source, 0);
}

GSource *sluice_timeout_source_new(GMainContext *context, guint interval_ms,
                                   gboolean (*fn)(void *data), void *data,
                                   void (*destroy)(void *data)) {
    GSource *source = g_timeout_source_new(interval_ms);
    g_source_set_callback(source, (GSourceFunc)fn, data, (GDestroyNotify)destroy);
    g_source_attach(source, context);
    return source;
}

NiceAgent *sluice_nice_agent_new(GMainContext *context, gboolean controlling, guint options, gboolean ice_tcp) {
    NiceAgent *agent = nice_agent_new_full(context, NICE_COMPATIBILITY_RFC5245, (NiceAgentOption)options);
    if (agent == NULL) return NULL;
    g_object_set(G_OBJECT(agent),
                 "controlling-mode", controlling,
                 "ice-tcp", ice_tcp,
                 "ice-udp", TRUE,
                 "upnp", FALSE,
                 NULL);
    return agent;
}

void sluice_nice_agent_set_controlling(NiceAgent *agent, gboolean controlling) {
    g_object_set(G_OBJECT(agent), "controlling-mode", controlling, NULL);
}

void sluice_nice_connect_signals(NiceAgent *agent, const SluiceNiceCallbacks *cb, void *data) {
    if (cb->state_changed)
        g_signal_connect(G_OBJECT(agent), "component-state-changed", G_CALLBACK(cb->state_changed), data);
    if (cb->gathering_done)
        g_signal_connect(G_OBJECT(agent), "candidate-gathering-done", G_CALLBACK(cb->gathering_done), data);
    if (cb->new_selected_pair)
        g_signal_connect(G_OBJECT(agent), "new-selected-pair-full", G_CALLBACK(cb->new_selected_pair), data);
    if (cb->new_candidate)
        g_signal_connect(G_OBJECT(agent), "new-candidate-full", G_CALLBACK(cb->new_candidate), data);
}

void sluice_signals_disconnect_by_data(gpointer instance, void *data) {
    g_signal_handlers_disconnect_by_data(instance, data);
}

void sluice_object_unref(gpointer object) {
    g_object_unref(object);
}
