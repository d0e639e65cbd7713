// A visit's page: the pre-call check while waiting, then the call, the chat and the safety
// numbers once the visit is on. live.js replaces the page's content when the visit starts or
// ends, so this module watches for its sections to appear and go: it starts what appears and
// hangs up what went. Nothing here holds a secret of its own; the keys stay in keys-adapter.js.
import * as keys from "./keys-adapter.js";
import { Signal } from "./api.js";
import { Call, mediaError, sentence } from "./call.js";
import { Chat } from "./chat.js";
import { Precall } from "./precall.js";

let precall = null;
let session = null; // {el, call, chat, signal}

// device is this browser's registered device for the page's reader, or null with a message.
async function device(account) {
  try {
    return await keys.myDevice(account);
  } catch (err) {
    return { error: err.message };
  }
}

async function startPrecall(el) {
  precall = new Precall(el, null);
  const dev = await device(el.dataset.account);
  if (precall && precall.el === el && dev && dev.id) precall.deviceId = dev.id;
}

async function startConsult(el) {
  if (precall) {
    precall.stop();
    precall = null;
  }
  const status = el.querySelector("#call-status");
  const s = { el, call: null, chat: null, signal: null };
  session = s;
  const dev = await device(el.dataset.account);
  if (dev.error) {
    status.textContent = dev.error;
    return;
  }
  let people;
  try {
    people = await keys.directory(el.dataset.thread, el.dataset.account);
  } catch (err) {
    status.textContent = err.message;
    return;
  }
  if (session !== s) return;
  s.chat = new Chat({ root: el, thread: el.dataset.thread, dev, people, keysURL: el.dataset.keys });
  s.chat.start().catch((err) => s.chat.error(err.message));
  // The chat catches up now and then too, in case a notice was lost while the socket was down.
  s.poll = setInterval(() => s.chat.fetch().catch(() => {}), 15000);
  el.addEventListener("haven:people", (ev) => s.chat.setPeople(ev.detail));
  wireControls(s, dev);
  await joinCall(s, dev);
}

// joinCall starts the camera and microphone, then opens the visit's socket: the call and the
// chat's notices share it.
async function joinCall(s, dev) {
  const status = s.el.querySelector("#call-status");
  const call = new Call({ el: s.el, visitId: s.el.dataset.visit, dev, people: s.chat.people });
  try {
    await call.start();
  } catch (err) {
    call.hangUp();
    status.textContent = mediaError(err);
    s.el.querySelector("#call-join").hidden = false;
    return;
  }
  if (session !== s) {
    call.hangUp();
    return;
  }
  s.call = call;
  s.signal = new Signal(s.el.dataset.visit, dev.id);
  call.attach(s.signal);
  s.signal.addEventListener("message", (ev) => {
    if (ev.detail.thread === s.el.dataset.thread) s.chat.fetch().catch(() => {});
  });
  s.signal.addEventListener("down", (ev) => {
    if (ev.detail.code === 1000 || ev.detail.code === 1008) {
      status.textContent = s.signal.byeReason
        ? sentence(s.signal.byeReason)
        : "Haven did not let this device into the call. If four devices are already in it, one has to leave first; otherwise reload the page.";
    }
  });
  s.el.querySelector("#call-join").hidden = true;
}

function wireControls(s, dev) {
  const el = s.el;
  const toggle = (id, on, off, act) => {
    const b = el.querySelector(id);
    b.addEventListener("click", async () => {
      const pressed = b.getAttribute("aria-pressed") !== "true";
      try {
        await act(pressed);
        b.setAttribute("aria-pressed", String(pressed));
        b.textContent = pressed ? off : on;
      } catch (err) {
        el.querySelector("#call-status").textContent = err.name === "NotAllowedError" ? "Screen sharing was cancelled." : err.message;
      }
    });
    return b;
  };
  toggle("#call-mute", "Mute my microphone", "Unmute my microphone", async (on) => s.call && s.call.setMuted(on));
  toggle("#call-camera", "Turn my camera off", "Turn my camera on", async (on) => s.call && s.call.setCameraOff(on));
  const share = toggle("#call-share", "Share my screen", "Stop sharing my screen", async (on) => s.call && s.call.share(on));
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) share.hidden = true;
  el.addEventListener("haven:share-ended", () => {
    share.setAttribute("aria-pressed", "false");
    share.textContent = "Share my screen";
  });
  for (const [sel, kind] of [["#choose-camera", "video"], ["#choose-microphone", "audio"]]) {
    el.querySelector(sel).addEventListener("change", (ev) => {
      s.call?.choose(kind, ev.target.value).catch((err) => (el.querySelector("#call-status").textContent = mediaError(err)));
    });
  }
  el.querySelector("#call-leave").addEventListener("click", () => {
    s.call?.hangUp();
    s.signal?.close();
    s.call = null;
    s.signal = null;
    el.querySelector("#call-status").textContent = "You left the call. The chat still works.";
    el.querySelector("#call-join").hidden = false;
    el.querySelector("#call-join").focus();
  });
  el.querySelector("#call-join").addEventListener("click", () => {
    if (!s.call) joinCall(s, dev);
  });
}

function stopConsult() {
  if (!session) return;
  clearInterval(session.poll);
  session.call?.hangUp();
  session.signal?.close();
  session = null;
}

// scan starts or stops what the page now shows.
function scan() {
  const pre = document.getElementById("precall");
  if (pre && (!precall || precall.el !== pre)) startPrecall(pre);
  if (!pre && precall) {
    precall.stop();
    precall = null;
  }
  const consult = document.getElementById("consult");
  if (consult && (!session || session.el !== consult)) {
    stopConsult();
    startConsult(consult);
  }
  if (!consult && session) stopConsult();
}

// Counters for tests and support, with no PHI: per peer its device id, connection state and
// the frames decoded so far.
window.havenCall = {
  stats: async () => (session && session.call ? session.call.stats() : []),
  quality: () => (session && session.call ? session.call.quality : "unknown"),
};

scan();
new MutationObserver(scan).observe(document.querySelector("main") || document.body, { childList: true, subtree: true });
addEventListener("pagehide", stopConsult);
