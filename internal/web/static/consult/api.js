// The consultation's calls to Haven's JSON API and its signalling socket (docs/e2ee.md). Each
// failure becomes an Error whose message a person can act on; the server's own words are kept
// when it sends some (they never carry PHI).

export class APIError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// words is what a person reads for a failed request.
function words(status, data) {
  if (data && typeof data.error === "string" && data.error) return data.error;
  if (status === 401) return "You were signed out. Sign in again, then come back to this page.";
  if (status === 403) return "You cannot do this here. If you think you should, ask the clinic.";
  if (status === 413) return "That is too large to send.";
  if (status === 429) return "Too many tries at once. Wait a moment, then try again.";
  if (status >= 500) return "Haven could not do this just now. Try again in a minute.";
  return "That did not work. Try again.";
}

async function request(method, url, { json, bytes, type, headers } = {}) {
  const init = { method, credentials: "same-origin", cache: "no-store", headers: { ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (bytes !== undefined) {
    init.headers["Content-Type"] = type || "application/octet-stream";
    init.body = bytes;
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch {
    throw new APIError("Haven cannot be reached. Check your internet connection, then try again.", 0);
  }
  return resp;
}

async function answer(resp) {
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new APIError(words(resp.status, data), resp.status);
  return data;
}

export const getJSON = async (url) => answer(await request("GET", url));
export const postJSON = async (url, body) => answer(await request("POST", url, { json: body }));
export const postBytes = async (url, bytes, type, headers) => answer(await request("POST", url, { bytes, type, headers }));

export async function getBytes(url) {
  const resp = await request("GET", url);
  if (!resp.ok) throw new APIError(words(resp.status, await resp.json().catch(() => ({}))), resp.status);
  return new Uint8Array(await resp.arrayBuffer());
}

// path joins API path segments, each escaped.
export const path = (...parts) => "/api/v1/" + parts.map((p) => encodeURIComponent(p)).join("/");

// Signal is the visit's signalling socket: one per device and visit, shared by the call (its
// welcome, peer-joined, peer-left and signal messages) and the chat (message). It reconnects
// after a network change, with a growing pause, until closed.
export class Signal extends EventTarget {
  constructor(visitId, deviceId) {
    super();
    this.url = new URL(path("visits", visitId, "signal") + "?device=" + encodeURIComponent(deviceId), location.href);
    this.url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    this.closed = false;
    this.pause = 500;
    this.open();
  }

  open() {
    if (this.closed) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.pause = 500;
      this.dispatchEvent(new CustomEvent("open"));
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string" || ev.data.length > 65536) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // not ours to read
      }
      if (msg && msg.type === "bye" && typeof msg.reason === "string") this.byeReason = msg.reason;
      if (msg && typeof msg.type === "string") this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
    };
    ws.onclose = (ev) => {
      this.dispatchEvent(new CustomEvent("down", { detail: { code: ev.code, reason: ev.reason } }));
      // 1008: refused by policy (not a participant any more, signed out); 1000: the server ended
      // the call (the visit is over). Trying again would not help; anything else reconnects.
      if (this.closed || ev.code === 1008 || ev.code === 1000) return;
      setTimeout(() => this.open(), this.pause);
      this.pause = Math.min(this.pause * 2, 10000);
    };
  }

  // send relays payload to one device of the visit.
  send(to, payload) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "signal", to, payload }));
      return true;
    }
    return false;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000, "left");
  }
}
