// What the broadcaster and player pages share. livekit-client is loaded before this file
// (window.LivekitClient, its UMD global).
"use strict";

// Everything a page shows is also kept here, so a test (or a person in the console) can read it.
window.state = { phase: "idle", connection: "disconnected", connectionHistory: [], viewers: 0, errors: [], reconnects: 0 };
window.addEventListener("error", (e) => state.errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => state.errors.push(String(e.reason && e.reason.message || e.reason)));

const Sluice = {
  LK: window.LivekitClient,
  params: new URLSearchParams(location.search),

  $(id) { return document.getElementById(id); },

  // Signalling lives on the server that served the page.
  wsURL() { return (location.protocol === "https:" ? "wss://" : "ws://") + location.host; },

  randomSuffix() { return Math.random().toString(36).slice(2, 7); },

  // Tokens from the server's dev endpoint; without it (not in --dev), from ?token= (and
  // ?record_token= for recording), so the pages still work with tokens minted elsewhere.
  async tokens(room, identity, role) {
    const response = await fetch("/app/api/token", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ room, identity, role }),
    });
    if (response.ok) return response.json();
    if (response.status === 404 && this.params.get("token")) {
      return { token: this.params.get("token"), recordToken: this.params.get("record_token") };
    }
    if (response.status === 404) {
      throw new Error("This server does not mint tokens (run `sluice serve --dev`, or set webapp.allow_dev_tokens), "
        + "so open this page with ?token=<join token>.");
    }
    throw new Error("token endpoint: " + response.status + " " + (await response.text()));
  },

  // A viewer is a participant that may not publish: what the token endpoint gives viewers.
  isViewer(participant) { return !!participant.permissions && participant.permissions.canPublish === false; },

  countViewers(room) {
    let n = 0;
    for (const p of room.remoteParticipants.values()) if (this.isViewer(p)) n++;
    if (this.isViewer(room.localParticipant)) n++;
    return n;
  },

  // Connection state as a label and a colour, from the Room's ConnectionState.
  showConnection(el, connectionState) {
    const labels = {
      connected: ["Connected", "good"], connecting: ["Connecting…", "warn"],
      reconnecting: ["Reconnecting…", "warn"], signalReconnecting: ["Reconnecting…", "warn"],
      disconnected: ["Disconnected", "idle"],
    };
    const [text, cls] = labels[connectionState] || [connectionState, "idle"];
    el.textContent = text;
    el.className = "pill " + cls;
    if (state.connection !== connectionState) state.connectionHistory.push(connectionState);
    state.connection = connectionState;
  },

  // Follows the room's connection: the label, and how many times it came back after a drop
  // (the SDK resumes the session or rejoins on its own; the page only shows it).
  watchConnection(room, el, onChange) {
    const LK = this.LK;
    const show = (s) => { this.showConnection(el, s); onChange && onChange(s); };
    room.on(LK.RoomEvent.ConnectionStateChanged, show);
    room.on(LK.RoomEvent.Reconnecting, () => show("reconnecting"));
    room.on(LK.RoomEvent.SignalReconnecting, () => show("signalReconnecting"));
    room.on(LK.RoomEvent.Reconnected, () => { state.reconnects++; show("connected"); });
  },

  kbps(bits) { return bits >= 1e6 ? (bits / 1e6).toFixed(2) + " Mbit/s" : Math.round(bits / 1e3) + " kbit/s"; },

  fail(el, error) {
    const message = String(error && error.message || error);
    state.errors.push(message);
    if (el) el.textContent = message;
  },
};
