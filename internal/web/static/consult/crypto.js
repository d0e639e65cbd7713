// The consultation's cryptography in the browser (docs/e2ee.md, the protocol; its sections are
// cited below): device keys, fingerprints, safety numbers, message envelopes, attachments and
// signed DTLS descriptions, on WebCrypto only. The key directory's proofs (key transparency)
// are checked in keylog.js and re-exported here.
//
// Private keys are generated non-extractable: script on the page can use them but never read
// them, and they are stored as CryptoKey objects (store.js). Nothing here logs: a message, a key
// or a name never reaches the console.
//
// Deterministic inputs (the `fixed` options and importTestKeys) exist only so the shared test
// vectors can be reproduced; the pages never pass them, and store.js refuses to keep test keys.
import { ConsultError, b64, fromB64, hex, utf8, u32, concat, compareBytes, bytesEqual } from "./bytes.js";

export { ConsultError, b64, fromB64, b64std, fromB64std, hex, fromHex, utf8, u32, concat, compareBytes, bytesEqual } from "./bytes.js";
export { canonicalEntry, leafHash, verifyInclusion, parseVerifierKey, verifyCheckpoint, verifyDevice, keyReason } from "./keylog.js";

const subtle = globalThis.crypto.subtle;

const FINGERPRINT_TAG = "haven-device-v1\x00";
const SAFETY_TAG = "haven-safety-v1\x00";
const WRAP_TAG = "haven-e2ee-v1 wrap\x00";
const BODY_TAG = "haven-e2ee-v1 body\x00";
const SIG_TAG = "haven-e2ee-v1 sig\x00";
const FILE_TAG = "haven-e2ee-v1 file";
const DTLS_TAG = "haven-dtls-v1\x00";

// What a person reads when a message is refused, whatever the reason (section 3).
export const REFUSED_MESSAGE = "This message was changed, repeated or sent out of order, so it is not shown.";

function refuse(code) {
  return new ConsultError(code, REFUSED_MESSAGE);
}

export function randomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// ---- Device keys (section 1) ----

// generateDeviceKeys makes this browser's two key pairs. The private keys are non-extractable;
// the public halves are exported raw (32 bytes each) for registration.
export async function generateDeviceKeys() {
  const sign = await subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const agree = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  return {
    signPrivate: sign.privateKey,
    agreePrivate: agree.privateKey,
    signKey: new Uint8Array(await subtle.exportKey("raw", sign.publicKey)),
    agreeKey: new Uint8Array(await subtle.exportKey("raw", agree.publicKey)),
  };
}

// PKCS #8 wrappers of a raw 32-byte Ed25519 seed or X25519 scalar (RFC 8410).
const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
const PKCS8_X25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

// importRawPrivate imports a raw private key (for test vectors only) and returns it
// non-extractable with its raw public half.
async function importRawPrivate(raw, name) {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new ConsultError("malformed", "A test key must be 32 bytes.");
  const pkcs8 = concat(new Uint8Array(name === "Ed25519" ? PKCS8_ED25519 : PKCS8_X25519), raw);
  const usages = name === "Ed25519" ? ["sign"] : ["deriveBits"];
  // WebCrypto has no "public from private"; an extractable copy tells the public half, then is dropped.
  const tmp = await subtle.importKey("pkcs8", pkcs8, { name }, true, usages);
  const pub = fromB64((await subtle.exportKey("jwk", tmp)).x);
  const key = await subtle.importKey("pkcs8", pkcs8, { name }, false, usages);
  return { key, pub };
}

// importTestKeys makes device keys from raw private keys: the Ed25519 seed and the X25519
// scalar of a test vector. Only the vector tests call it; the keys are marked as test keys.
export async function importTestKeys({ signSeed, agreePrivate }) {
  const s = await importRawPrivate(signSeed, "Ed25519");
  const a = await importRawPrivate(agreePrivate, "X25519");
  return { signPrivate: s.key, agreePrivate: a.key, signKey: s.pub, agreeKey: a.pub, test: true };
}

// fingerprint is hex(SHA-256("haven-device-v1\0" ‖ signKey ‖ agreeKey)).
export async function fingerprint(signKey, agreeKey) {
  return hex(await sha256(concat(utf8(FINGERPRINT_TAG), signKey, agreeKey)));
}

async function importSignPublic(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new ConsultError("malformed", "A signing key must be 32 bytes.");
  return subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

async function importAgreePublic(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new ConsultError("malformed", "An agreement key must be 32 bytes.");
  return subtle.importKey("raw", raw, { name: "X25519" }, false, []);
}

async function ed25519Sign(privateKey, bytes) {
  return new Uint8Array(await subtle.sign({ name: "Ed25519" }, privateKey, bytes));
}

// ed25519Verify checks a signature with a raw 32-byte public key.
export async function ed25519Verify(publicRaw, sig, bytes) {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
  const key = await importSignPublic(publicRaw);
  return subtle.verify({ name: "Ed25519" }, key, sig, bytes);
}

// ---- Safety numbers (section 2) ----

// safetyDigits is one person's 30 digits: SHA-512("haven-safety-v1\0" ‖ account ‖ 0 ‖ keys
// sorted bytewise), its first 30 bytes read as six 5-byte big-endian integers modulo 100000.
export async function safetyDigits(accountId, signKeys) {
  const keys = [...signKeys].sort(compareBytes);
  const d = new Uint8Array(await subtle.digest("SHA-512", concat(utf8(SAFETY_TAG), utf8(accountId), new Uint8Array([0]), ...keys)));
  let out = "";
  for (let i = 0; i < 30; i += 5) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + d[i + j];
    out += String(n % 100000).padStart(5, "0");
  }
  return out;
}

// safetyNumber is the 60 digits of two people, {accountId, signKeys}: the one whose account id
// sorts first (bytewise), then the other.
export async function safetyNumber(a, b) {
  const [first, second] = compareBytes(utf8(a.accountId), utf8(b.accountId)) <= 0 ? [a, b] : [b, a];
  return (await safetyDigits(first.accountId, first.signKeys)) + (await safetyDigits(second.accountId, second.signKeys));
}

// formatSafetyNumber shows 60 digits as 12 groups of 5.
export function formatSafetyNumber(digits) {
  return digits.match(/.{1,5}/g).join(" ");
}

// ---- Envelopes (section 3) ----

async function aesKey(raw, usages) {
  return subtle.importKey("raw", raw, { name: "AES-GCM" }, false, usages);
}

async function gcmSeal(keyRaw, iv, plaintext, aad) {
  const key = await aesKey(keyRaw, ["encrypt"]);
  return new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, key, plaintext));
}

// gcmOpen returns null when the ciphertext, key, iv or associated data do not match.
async function gcmOpen(keyRaw, iv, ciphertext, aad) {
  try {
    const key = await aesKey(keyRaw, ["decrypt"]);
    return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, key, ciphertext));
  } catch {
    return null;
  }
}

// wrapKey derives the KEK for one recipient device: HKDF-SHA256 over X25519(eph, agreeKey),
// salt epk ‖ agreeKey, info "haven-e2ee-v1 wrap\0" ‖ id ‖ 0 ‖ device.
// The sender passes (eph, r.agreeKey); the recipient passes (its own private key, epk).
async function wrapKey(privateKey, peerPublic, epk, agreeKey, id, device) {
  const shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: await importAgreePublic(peerPublic) }, privateKey, 256));
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
  const info = concat(utf8(WRAP_TAG), utf8(id), new Uint8Array([0]), utf8(device));
  return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: concat(epk, agreeKey), info }, ikm, 256));
}

function bodyAAD(thread, id, device, seq) {
  return concat(utf8(BODY_TAG), u32(thread), u32(id), u32(device), u32(String(seq)));
}

// envelopeSignedBytes is what the sender's device signs: every field of the envelope, the
// recipients sorted by device id.
export function envelopeSignedBytes(env) {
  const parts = [utf8(SIG_TAG), u32(String(env.v)), u32(env.thread), u32(env.id), u32(env.sender.account), u32(env.sender.device),
    u32(String(env.seq)), u32(env.sentAt), u32(fromB64(env.epk)), u32(fromB64(env.iv)), u32(fromB64(env.ciphertext))];
  const rs = [...env.recipients].sort((x, y) => compareBytes(utf8(x.device), utf8(y.device)));
  for (const r of rs) parts.push(u32(r.device), u32(fromB64(r.iv)), u32(fromB64(r.wrapped)));
  return concat(...parts);
}

function nowSeconds() {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

// sealEnvelope encrypts plaintext (bytes, or an object written as JSON) for every recipient
// device ({device, agreeKey}) and signs it with the sender device's key. fixed holds the random
// values of a test vector ({id, contentKey, iv, ivs: {device: iv}, ephemeral}); pages omit it.
export async function sealEnvelope({ thread, sender, seq, sentAt, recipients, plaintext, fixed }) {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new ConsultError("malformed", "A message number must be a positive integer.");
  if (!recipients.length) throw new ConsultError("malformed", "A message needs at least one recipient device.");
  const body = plaintext instanceof Uint8Array ? plaintext : utf8(JSON.stringify(plaintext));
  const id = b64(fixed ? fixed.id : randomBytes(16));
  const ck = fixed ? fixed.contentKey : randomBytes(32);
  let eph;
  let epk;
  if (fixed) {
    const k = await importRawPrivate(fixed.ephemeral, "X25519");
    eph = k.key;
    epk = k.pub;
  } else {
    const pair = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    eph = pair.privateKey;
    epk = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  }
  const out = [];
  for (const r of recipients) {
    const iv = fixed ? fixed.ivs[r.device] : randomBytes(12);
    const kek = await wrapKey(eph, r.agreeKey, epk, r.agreeKey, id, r.device);
    out.push({ device: r.device, iv: b64(iv), wrapped: b64(await gcmSeal(kek, iv, ck, utf8(id))) });
  }
  out.sort((x, y) => compareBytes(utf8(x.device), utf8(y.device)));
  const iv = fixed ? fixed.iv : randomBytes(12);
  const env = {
    v: 1, thread, id, sender: { account: sender.account, device: sender.device }, seq, sentAt: sentAt || nowSeconds(),
    epk: b64(epk), recipients: out, iv: b64(iv),
    ciphertext: b64(await gcmSeal(ck, iv, body, bodyAAD(thread, id, sender.device, seq))),
  };
  env.sig = b64(await ed25519Sign(sender.signPrivate, envelopeSignedBytes(env)));
  return env;
}

const isString = (x) => typeof x === "string";

// parseEnvelope checks an envelope's shape and sizes and decodes its binary fields; anything
// else is refused as malformed.
export function parseEnvelope(env) {
  const bad = () => refuse("malformed");
  if (env === null || typeof env !== "object" || Array.isArray(env)) throw bad();
  if (env.v !== 1 || !isString(env.thread) || !isString(env.id) || !isString(env.sentAt) || !isString(env.epk) ||
    !isString(env.iv) || !isString(env.ciphertext) || !isString(env.sig)) throw bad();
  if (!env.sender || typeof env.sender !== "object" || !isString(env.sender.account) || !isString(env.sender.device)) throw bad();
  if (!Number.isSafeInteger(env.seq) || env.seq < 1) throw bad();
  if (!Array.isArray(env.recipients) || env.recipients.length === 0 || env.recipients.length > 1000) throw bad();
  try {
    const raw = {
      id: fromB64(env.id), epk: fromB64(env.epk), iv: fromB64(env.iv), ciphertext: fromB64(env.ciphertext), sig: fromB64(env.sig),
      recipients: env.recipients.map((r) => {
        if (!r || !isString(r.device) || !isString(r.iv) || !isString(r.wrapped)) throw bad();
        return { device: r.device, iv: fromB64(r.iv), wrapped: fromB64(r.wrapped) };
      }),
    };
    if (raw.id.length !== 16 || raw.epk.length !== 32 || raw.iv.length !== 12 || raw.sig.length !== 64 || raw.ciphertext.length < 16) throw bad();
    const seen = new Set();
    for (const r of raw.recipients) {
      if (r.iv.length !== 12 || r.wrapped.length !== 48 || seen.has(r.device)) throw bad();
      seen.add(r.device);
    }
    return raw;
  } catch {
    throw bad();
  }
}

// ReceiverState remembers, per (thread, sender device), the last message number accepted and the
// ids of the last few messages, so a replayed, reordered or reused number is refused. Its
// snapshot() is what store.js keeps.
export class ReceiverState {
  constructor(snapshot) {
    this.entries = new Map(Object.entries(snapshot || {}));
  }

  static key(thread, device) {
    return JSON.stringify([thread, device]);
  }

  // check throws "replayed" (a message already accepted, or its number reused) or "reordered"
  // (an older number never seen) unless seq is past the last accepted.
  check(thread, device, seq, id) {
    const e = this.entries.get(ReceiverState.key(thread, device));
    if (!e || seq > e.last) return;
    if (seq === e.last || e.recent.includes(id)) throw refuse("replayed");
    throw refuse("reordered");
  }

  accept(thread, device, seq, id) {
    this.check(thread, device, seq, id);
    const k = ReceiverState.key(thread, device);
    const e = this.entries.get(k) || { last: 0, recent: [] };
    this.entries.set(k, { last: seq, recent: [...e.recent, id].slice(-64) });
  }

  // merge takes, per sender device and thread, whichever of the two states went further.
  merge(other) {
    for (const [k, e] of other.entries) {
      const have = this.entries.get(k);
      if (!have || e.last > have.last) this.entries.set(k, { last: e.last, recent: [...(have ? have.recent : []), ...e.recent].slice(-64) });
    }
  }

  snapshot() {
    return Object.fromEntries(this.entries);
  }
}

// openEnvelope accepts a message only as section 3 says: its thread is the one asked for, the
// signature verifies with the sender device's directory key (senderKey(account, device) returns
// the verified raw signing key, or null), one recipient entry is this device's, both AES-GCM
// openings succeed and its number is new (state, a ReceiverState, is advanced on success).
// device, agreePrivate and agreeKey are this device's id and agreement key pair. A refusal throws
// a ConsultError whose code says why (malformed, wrong-thread, unknown-sender, bad-signature,
// replayed, reordered, not-a-recipient, undecryptable) and whose message is REFUSED_MESSAGE.
export async function openEnvelope(env, { thread, device, agreePrivate, agreeKey, senderKey, state }) {
  const raw = parseEnvelope(env);
  if (env.thread !== thread) throw refuse("wrong-thread");
  const signKey = await senderKey(env.sender.account, env.sender.device);
  if (!signKey) throw refuse("unknown-sender");
  if (!(await ed25519Verify(signKey, raw.sig, envelopeSignedBytes(env)))) throw refuse("bad-signature");
  state.check(thread, env.sender.device, env.seq, env.id);
  const mine = raw.recipients.find((r) => r.device === device);
  if (!mine) throw refuse("not-a-recipient");
  const kek = await wrapKey(agreePrivate, raw.epk, raw.epk, agreeKey, env.id, device).catch(() => null);
  const ck = kek && (await gcmOpen(kek, mine.iv, mine.wrapped, utf8(env.id)));
  if (!ck) throw refuse("undecryptable");
  const plaintext = await gcmOpen(ck, raw.iv, raw.ciphertext, bodyAAD(thread, env.id, env.sender.device, env.seq));
  if (!plaintext) throw refuse("undecryptable");
  state.accept(thread, env.sender.device, env.seq, env.id);
  let message = null;
  try {
    message = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
  } catch {
    message = null;
  }
  return { id: env.id, thread, sender: { ...env.sender }, seq: env.seq, sentAt: env.sentAt, plaintext, message };
}

// ---- Attachments (section 3) ----

// encryptFile encrypts an attachment's bytes under a fresh file key; the ciphertext is uploaded,
// the rest travels inside the message. sha256 is the hash of the plaintext, checked on opening.
export async function encryptFile(bytes, fixed) {
  const key = fixed ? fixed.key : randomBytes(32);
  const iv = fixed ? fixed.iv : randomBytes(12);
  return {
    ciphertext: await gcmSeal(key, iv, bytes, utf8(FILE_TAG)),
    key: b64(key), iv: b64(iv), size: bytes.length, sha256: hex(await sha256(bytes)),
  };
}

// decryptFile opens a downloaded attachment with the key, iv and hash from its message.
export async function decryptFile(ciphertext, { key, iv, sha256: want }) {
  let k;
  let n;
  try {
    k = fromB64(key);
    n = fromB64(iv);
  } catch {
    throw new ConsultError("malformed", "This attachment's key is damaged, so it cannot be opened.");
  }
  if (k.length !== 32 || n.length !== 12) throw new ConsultError("malformed", "This attachment's key is damaged, so it cannot be opened.");
  const bytes = await gcmOpen(k, n, ciphertext, utf8(FILE_TAG));
  if (!bytes || (want !== undefined && hex(await sha256(bytes)) !== want)) {
    throw new ConsultError("undecryptable", "This attachment was changed after it was sent, so it is not shown.");
  }
  return bytes;
}

// ---- Video: signed DTLS descriptions (section 4) ----

// fingerprintValue is "<hash> <hex pairs with colons>" for the hashes WebRTC uses (RFC 8122).
const fingerprintValue = /^(sha-256 [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}|sha-384 [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){47}|sha-512 [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){63})$/;

// sdpFingerprint is the a=fingerprint: value of an SDP ("sha-256 AB:CD:…"), as the SDP writes
// it. An SDP with none, with several that differ (session and media level alike), or with one
// that is not a sha-256/384/512 fingerprint is refused, as the Go side refuses it: media keyed by
// another certificate than the signed one is never accepted.
export function sdpFingerprint(sdp) {
  const refused = () => new ConsultError("fingerprint-mismatch", "The call description has no single valid DTLS fingerprint.");
  if (typeof sdp !== "string") throw refused();
  let found = "";
  for (let line of sdp.split("\n")) {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (!line.startsWith("a=fingerprint:")) {
      if (line.toLowerCase().startsWith("a=fingerprint")) throw refused();
      continue;
    }
    const value = line.slice("a=fingerprint:".length);
    if (!fingerprintValue.test(value) || (found !== "" && value !== found)) throw refused();
    found = value;
  }
  if (found === "") throw refused();
  return found;
}

// descriptionSignedBytes is "haven-dtls-v1\0" ‖ u32(visitId) ‖ u32(from) ‖ u32(to) ‖ u32(nonce raw) ‖ u32(fingerprint).
export function descriptionSignedBytes(visitId, from, to, nonce, fp) {
  return concat(utf8(DTLS_TAG), u32(visitId), u32(from), u32(to), u32(nonce), u32(fp));
}

// signDescription makes an offer's or answer's payload: the SDP with a fresh nonce and its
// fingerprint signed by this device's key. fixed.nonce is for test vectors only.
export async function signDescription({ kind, sdp, visitId, from, to, signPrivate, fixed }) {
  const nonce = fixed ? fixed.nonce : randomBytes(16);
  const fp = sdpFingerprint(sdp);
  const sig = await ed25519Sign(signPrivate, descriptionSignedBytes(visitId, from, to, nonce, fp));
  return { kind, sdp, nonce: b64(nonce), fingerprint: fp, sig: b64(sig) };
}

// callRefused is what a person reads when a description does not verify ("who" names the peer).
export function callRefusedMessage(who) {
  return "The connection to " + who + " could not be verified, so the call was stopped.";
}

// verifyDescription accepts a peer's description only if it is addressed to this device (to ===
// me), the SDP's fingerprint is the signed one, the signature verifies with the sender device's
// directory key (signKey, raw) and the nonce is new (seenNonces, a Set, remembers it).
export async function verifyDescription(payload, { visitId, from, to, me, signKey, seenNonces, who }) {
  const fail = (code) => new ConsultError(code, callRefusedMessage(who || "the other person"));
  if (!payload || typeof payload !== "object" || !isString(payload.sdp) || !isString(payload.nonce) ||
    !isString(payload.fingerprint) || !isString(payload.sig)) throw fail("malformed");
  if (me !== undefined && to !== me) throw fail("not-for-me");
  let nonce;
  let sig;
  try {
    nonce = fromB64(payload.nonce);
    sig = fromB64(payload.sig);
  } catch {
    throw fail("malformed");
  }
  if (nonce.length !== 16 || sig.length !== 64) throw fail("malformed");
  let fp;
  try {
    fp = sdpFingerprint(payload.sdp);
  } catch {
    throw fail("fingerprint-mismatch");
  }
  if (fp !== payload.fingerprint) throw fail("fingerprint-mismatch");
  if (!signKey || !(await ed25519Verify(signKey, sig, descriptionSignedBytes(visitId, from, to, nonce, fp)))) throw fail("bad-signature");
  if (seenNonces) {
    if (seenNonces.has(payload.nonce)) throw fail("nonce-reused");
    seenNonces.add(payload.nonce);
  }
  return { kind: payload.kind, sdp: payload.sdp, fingerprint: fp };
}
