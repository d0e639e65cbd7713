// The one place the consultation's pages (call.js, chat.js, messages.js, precall.js) meet the
// device-key modules (crypto.js: keys, envelopes, safety numbers, signed DTLS descriptions;
// store.js: this device's keys in IndexedDB; directory.js: the key directory's proofs). The pages
// call only what this file exports, so a name changed there is changed here once. Every check
// the protocol (docs/e2ee.md) asks for is made by those modules; this file only routes to them.
import { getJSON, postJSON } from "./api.js";

let loaded;

// mods loads the modules once. A page whose modules are missing says so instead of sending
// anything unencrypted. directory.js is optional: without it the adapter checks the directory
// with crypto.js's verifyCheckpoint and verifyDevice itself.
async function mods() {
  loaded ??= Promise.all([import("./crypto.js"), import("./store.js"), import("./directory.js").catch(() => ({}))]).then(
    ([crypto, store, directory]) => ({ crypto, store, directory }),
    () => {
      loaded = undefined;
      throw new Error("This page's encryption could not be loaded, so nothing was sent. Reload the page; if it happens again, tell the clinic.");
    },
  );
  return loaded;
}

// pick is the first of names that module exports: the adapter tolerates the few names a
// function might carry, and fails loudly when it has none.
function pick(module, ...names) {
  for (const n of names) if (typeof module[n] === "function") return module[n].bind(module);
  throw new Error("consult: the encryption module has none of " + names.join(", "));
}

const b64 = (bytes) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
};
const unb64 = (text) => {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
};
export { b64, unb64 };

// deviceLabel names this browser for the person's device list ("Chrome on a phone").
export function deviceLabel() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "A browser";
  const where = /Mobi|Android|iPhone/.test(ua) ? "a phone" : /iPad|Tablet/.test(ua) ? "a tablet" : "a computer";
  return browser + " on " + where;
}

// myDevice is this browser's device for account: its keys, made once and kept non-extractable
// in IndexedDB, registered with Haven (only the public halves leave the device). Answers
// {id, account, signPrivate, agreePrivate (CryptoKeys), signKey, agreeKey (raw public bytes)}.
export async function myDevice(account) {
  const { crypto, store } = await mods();
  let dev = await pick(store, "loadDevice")(account);
  if (!dev) {
    dev = { account, ...(await pick(crypto, "generateDeviceKeys")()) };
    await pick(store, "saveDevice")(account, dev);
  }
  if (!dev.id) {
    // Registering the same keys again answers the same device: a lost answer is harmless.
    const reg = await postJSON("/api/v1/me/devices", { signKey: b64(dev.signKey), agreeKey: b64(dev.agreeKey), label: deviceLabel() });
    dev = { ...dev, account, id: reg.deviceId };
    await pick(store, "saveDevice")(account, dev);
  }
  return dev;
}

// pins are the key log's origin and checkpoint verifier key, pinned on first use (docs/e2ee.md
// section 1, check 3). They are public; what matters is that they do not change under us.
async function pins(origin) {
  const { store } = await mods();
  const load = typeof store.loadPins === "function" ? () => store.loadPins() : async () => JSON.parse(localStorage.getItem("haven.keylog.pins") || "null");
  const save = typeof store.savePins === "function" ? (p) => store.savePins(p) : async (p) => localStorage.setItem("haven.keylog.pins", JSON.stringify(p));
  let p = await load();
  if (!p) {
    const resp = await fetch("/api/v1/audit/key", { credentials: "same-origin", cache: "no-store" });
    if (!resp.ok) throw new Error("Haven's key log could not be reached. Check your connection, then reload the page.");
    p = { origin, key: (await resp.text()).trim() };
    await save(p);
  }
  return p;
}

// directory fetches the members' keys at url and keeps only the devices whose proofs hold
// (docs/e2ee.md section 1). Answers {people: [{accountId, role, displayName, devices: [{deviceId,
// signKey, agreeKey (raw bytes)}]}], refused: [{accountId, displayName}]}: refused names a person
// one of whose served keys failed a check; nothing is encrypted to it or accepted from it.
export async function directory(url) {
  const { crypto, directory } = await mods();
  const answer = await getJSON(url);
  if (typeof directory.verifyDirectory === "function") return directory.verifyDirectory(answer);
  const pin = await pins(answer.origin);
  const people = [];
  const refused = [];
  let tree = null;
  try {
    tree = await crypto.verifyCheckpoint(answer.checkpoint, pin.origin, pin.key);
  } catch {
    tree = null; // every device below fails check 3
  }
  for (const person of Array.isArray(answer.people) ? answer.people : []) {
    const who = person.displayName || "a participant";
    const ok = [];
    let bad = false;
    for (const d of Array.isArray(person.devices) ? person.devices : []) {
      try {
        if (!tree) throw new Error("checkpoint");
        ok.push(await crypto.verifyDevice(d, person.accountId, tree, pin.origin, pin.key, who));
      } catch {
        bad = true;
      }
    }
    people.push({ accountId: person.accountId, role: person.role, displayName: who, devices: ok });
    if (bad) refused.push({ accountId: person.accountId, displayName: who });
  }
  return { people, refused };
}

// safetyNumber is the 60 digits of two people (docs/e2ee.md section 2), in 12 groups of 5.
export async function safetyNumber(accountA, signKeysA, accountB, signKeysB) {
  const { crypto } = await mods();
  const digits = await crypto.safetyNumber({ accountId: accountA, signKeys: signKeysA }, { accountId: accountB, signKeys: signKeysB });
  return crypto.formatSafetyNumber(digits);
}

// seal encrypts plaintext (an object) for every recipient device ({device, agreeKey}) and signs
// it as dev: the envelope, ready to post.
export async function seal(dev, thread, seq, plaintext, recipients) {
  const { crypto } = await mods();
  return crypto.sealEnvelope({ thread, seq, sender: { account: dev.account, device: dev.id, signPrivate: dev.signPrivate }, plaintext, recipients });
}

// receiverState is the memory of what this page accepted in a thread (crypto.ReceiverState).
// A page reads its thread from the first message on each load and checks the order of the whole
// list again, so the memory starts empty each time: a copy or a reordering anywhere in the list
// is refused. (Keeping it across loads would refuse the very messages the page shows again.)
export async function receiverState() {
  const { crypto } = await mods();
  return new crypto.ReceiverState();
}

// open checks an envelope (signature by senderKey(account, device), the thread, this device's
// entry, both layers, the order in state) and answers {message (the plaintext object), sender,
// seq, sentAt}, or throws with a code saying why ("not-a-recipient" for a message sent before
// this device existed).
export async function open(dev, envelope, senderKey, thread, state) {
  const { crypto } = await mods();
  return crypto.openEnvelope(envelope, { thread, device: dev.id, agreePrivate: dev.agreePrivate, agreeKey: dev.agreeKey, senderKey, state });
}

// signDescription signs sdp's DTLS fingerprint for one peer: {kind, sdp, nonce, fingerprint, sig}.
export async function signDescription(dev, visitId, to, kind, sdp) {
  const { crypto } = await mods();
  return crypto.signDescription({ kind, sdp, visitId, from: dev.id, to, signPrivate: dev.signPrivate });
}

// verifyDescription checks a peer's description: addressed to this device, the SDP's fingerprint
// the signed one, signed by from's directory key, its nonce new (seen). Throws if not.
export async function verifyDescription(dev, visitId, from, fromSignKey, payload, seen, who) {
  const { crypto } = await mods();
  return crypto.verifyDescription(payload, { visitId, from, to: dev.id, me: dev.id, signKey: fromSignKey, seenNonces: seen, who });
}

// ---- attachments (docs/e2ee.md section 3): AES-256-GCM under a fresh file key ----

// sealFile encrypts bytes under a new key: {ciphertext, key, iv (b64), sha256 (hex of the
// plaintext)}. The key travels inside the message, never to the server.
export async function sealFile(bytes) {
  const { crypto } = await mods();
  return crypto.encryptFile(bytes);
}

// openFile decrypts an attachment and checks its hash: the bytes, or a thrown error.
export async function openFile(ciphertext, att) {
  const { crypto } = await mods();
  return crypto.decryptFile(ciphertext, att);
}
