// Secure messaging between a patient and their care team (thread patient.<id>): the same
// envelopes, safety numbers and refusals as the visit chat (chat.js), without a call. A
// clinician's device can file a message into the record: it opens the message here and sends
// its text through the ordinary, audited note write, so only what they choose becomes part of
// the record.
import * as keys from "./keys-adapter.js";
import { path, postBytes, postJSON } from "./api.js";
import { Chat } from "./chat.js";

const el = document.getElementById("thread");

// noteOf is the note a filed message becomes: who wrote it, when, and its words.
function noteOf(opened) {
  const at = new Date(opened.env.sentAt);
  const when = Number.isNaN(at.getTime()) ? opened.env.sentAt : at.toLocaleString(undefined, { year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" });
  return "Secure message from " + opened.person.displayName + ", " + when + ":\n\n" + opened.plain.text;
}

async function start() {
  const status = el.querySelector("#chat-error");
  let dev;
  let people;
  try {
    dev = await keys.myDevice(el.dataset.account);
    people = await keys.directory(el.dataset.thread, el.dataset.account);
  } catch (err) {
    status.textContent = err.message;
    status.hidden = false;
    return;
  }
  const patient = el.dataset.patient;
  const fileInto = el.dataset.role !== "patient" && patient
    ? (opened) => postJSON(path("patients", patient, "notes"), { body: noteOf(opened) })
    : null;
  const fileDocument = fileInto
    ? (bytes, att) => postBytes(path("patients", patient, "documents"), bytes, att.type, { "X-Filename": encodeURIComponent(String(att.name || "attachment")) })
    : null;
  const chat = new Chat({ root: el, thread: el.dataset.thread, dev, people, keysURL: el.dataset.keys, fileInto, fileDocument });
  await chat.start();
  // No call socket here: look for new messages now and then, and when the page comes back.
  setInterval(() => {
    if (document.visibilityState !== "visible") return;
    chat.fetch().catch(() => {});
    // Until someone else has a device here, look for one (they may open the page meanwhile).
    if (chat.alone) keys.directory(el.dataset.thread, el.dataset.account).then((p) => chat.setPeople(p), () => {});
  }, 10000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") chat.fetch().catch(() => {});
  });
  window.havenChat = { fetch: () => chat.fetch() };
}

if (el) start().catch((err) => {
  const status = el.querySelector("#chat-error");
  status.textContent = err.message;
  status.hidden = false;
});
