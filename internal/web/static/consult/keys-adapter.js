// The one place the consultation's pages (call.js, chat.js, messages.js, precall.js) meet the
// device-key modules (crypto.js: keys, envelopes, safety numbers, signed DTLS descriptions;
// store.js: this device's keys in IndexedDB; directory.js: the key directory's proofs). The pages
// call only what this file exports, so a name changed there is changed here once. Every check
// the protocol (docs/e2ee.md) asks for is made by those modules; this file only routes to them.

let loaded;

// mods loads the modules once. A page whose modules are missing says so instead of sending
// anything unencrypted.
async function mods() {
  loaded ??= Promise.all([import("./crypto.js"), import("./store.js"), import("./directory.js")]).then(
    ([crypto, store, directory]) => ({ crypto, store, directory }),
    () => {
      loaded = undefined;
      throw new Error("This page's encryption could not be loaded, so nothing was sent. Reload the page; if it happens again, tell the clinic.");
    },
  );
  return loaded;
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

let dir;

// theDirectory is the page's one directory.js Directory (over store.js's IndexedDB store).
async function theDirectory() {
  const { directory } = await mods();
  dir ??= new directory.Directory();
  return dir;
}

// myDevice is this browser's device for account: its keys, made once and kept non-extractable
// in IndexedDB, registered with Haven (only the public halves leave the device). Answers
// {id, account, signPrivate, agreePrivate (CryptoKeys), signKey, agreeKey (raw public bytes)}.
export async function myDevice(account) {
  const d = await theDirectory();
  const reg = await d.ensureRegistered(account, { label: deviceLabel() });
  const k = reg.keys;
  return { id: reg.deviceId, account, signPrivate: k.signPrivate, agreePrivate: k.agreePrivate, signKey: k.signKey, agreeKey: k.agreeKey };
}

// directory fetches the keys of thread's members and keeps only the devices whose proofs hold
// (docs/e2ee.md section 1). Answers directory.js's KeySet: people [{accountId, role,
// displayName, devices: [{deviceId, signKey, agreeKey (raw bytes)}], warnings}], plus refused
// [{accountId, displayName}]: the people one of whose served keys failed a check; nothing is
// encrypted to such a key or accepted from it. me is the reader's account id.
export async function directory(thread, me) {
  const d = await theDirectory();
  const set = await d.keysForThread(thread, me);
  set.refused = set.people.filter((p) => p.refused && p.refused.length).map((p) => ({ accountId: p.accountId, displayName: p.displayName }));
  return set;
}

// comparedNumber is the safety number me compared with them on this device ("It matches"),
// or undefined; markCompared remembers one.
export async function comparedNumber(me, them) {
  const d = await theDirectory();
  const c = await d.store.contact(me, them);
  return c ? c.safetyNumber : undefined;
}

export async function markCompared(me, them, digits) {
  const d = await theDirectory();
  await d.store.verifyContact(me, them, digits);
}

// safetyNumber is the 60 digits of two people (docs/e2ee.md section 2).
export async function safetyNumber(accountA, signKeysA, accountB, signKeysB) {
  const { crypto } = await mods();
  return crypto.safetyNumber({ accountId: accountA, signKeys: signKeysA }, { accountId: accountB, signKeys: signKeysB });
}

// groups shows 60 digits as 12 groups of 5, as people read them aloud.
export const groups = (digits) => String(digits).match(/.{1,5}/g).join(" ");

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
