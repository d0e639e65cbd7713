// Key transparency in the browser (docs/e2ee.md section 1): a peer's device keys are used only
// after their audit-log entry names them, the entry's leaf is in the tree a checkpoint names
// (RFC 6962 inclusion proof), and the checkpoint is a signed note (golang.org/x/mod/sumdb/note)
// of the pinned log, signed by Haven's pinned checkpoint key.
import { ConsultError, b64, fromB64, fromB64std, fromHex, hex, utf8, concat, bytesEqual } from "./bytes.js";

const subtle = globalThis.crypto.subtle;

const ENTRY_FIELDS = ["actorId", "actorRole", "action", "resourceType", "resourceId", "patientId", "outcome", "reason",
  "sourceAddr", "requestId", "purpose"];
const U64_MAX = (1n << 64n) - 1n;

function keyError(code, who) {
  const name = who || "this person";
  return new ConsultError(code, "The keys of " + name + " could not be verified, so nothing is sent to or accepted from them.");
}

// u64 reads a decimal string (or a safe integer) written canonically.
function u64(x) {
  if (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) return BigInt(x);
  if (typeof x !== "string" || !/^(0|[1-9][0-9]*)$/.test(x)) throw keyError("malformed");
  const n = BigInt(x);
  if (n > U64_MAX) throw keyError("malformed");
  return n;
}

// canonicalEntry is the audit log's encoding of an entry: u64be(seq) ‖ u64be(time) ‖ u32 of
// each string field in order.
export function canonicalEntry(entry) {
  if (!entry || typeof entry !== "object") throw keyError("malformed");
  const head = new Uint8Array(16);
  const view = new DataView(head.buffer);
  view.setBigUint64(0, u64(entry.seq));
  view.setBigUint64(8, u64(entry.time));
  const parts = [head];
  for (const f of ENTRY_FIELDS) {
    const v = entry[f] === undefined ? "" : entry[f];
    if (typeof v !== "string") throw keyError("malformed");
    const bytes = utf8(v);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length);
    parts.push(len, bytes);
  }
  return concat(...parts);
}

async function sha256(...parts) {
  return new Uint8Array(await subtle.digest("SHA-256", concat(...parts)));
}

// leafHash is SHA-256(0x00 ‖ canonical(entry)).
export async function leafHash(entry) {
  return sha256(new Uint8Array([0]), canonicalEntry(entry));
}

// verifyInclusion checks an RFC 6962 inclusion proof (RFC 9162 section 2.1.3.2) of the leaf at
// index in a tree of size with root.
export async function verifyInclusion(leaf, index, size, proof, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) return false;
  let r = leaf;
  for (const p of proof) {
    if (!(p instanceof Uint8Array) || p.length !== 32 || sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(r, root);
}

const validName = (name) => name !== "" && !/[\s+]/u.test(name);

// parseVerifierKey reads a note verifier key "name+hash+base64(0x01 ‖ pub)" (hash: 8 hex digits,
// the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ pub)).
export async function parseVerifierKey(vkey) {
  if (typeof vkey !== "string") throw keyError("checkpoint");
  const text = vkey.trim();
  // As note.NewVerifier: name, hash, then the key's base64 (which may itself hold "+").
  const i = text.indexOf("+");
  const j = i < 0 ? -1 : text.indexOf("+", i + 1);
  if (j < 0) throw keyError("checkpoint");
  const name = text.slice(0, i);
  const hash16 = text.slice(i + 1, j);
  const key64 = text.slice(j + 1);
  if (!validName(name) || !/^[0-9a-f]{8}$/.test(hash16)) throw keyError("checkpoint");
  let key;
  try {
    key = fromB64std(key64 || "");
  } catch {
    throw keyError("checkpoint");
  }
  if (key.length !== 33 || key[0] !== 1) throw keyError("checkpoint");
  const sum = await sha256(utf8(name + "\n"), key);
  if (hex(sum.subarray(0, 4)) !== hash16) throw keyError("checkpoint");
  return { name, hash: fromHex(hash16), pub: key.subarray(1), text };
}

// openNote verifies a signed note with one verifier key and returns its text.
async function openNote(note, vk) {
  const bad = () => keyError("checkpoint");
  if (typeof note !== "string") throw bad();
  for (const ch of note) {
    const c = ch.codePointAt(0);
    if (c < 0x20 && c !== 0x0a) throw bad();
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw bad();
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (sigs === "" || !sigs.endsWith("\n")) throw bad();
  const lines = sigs.slice(0, -1).split("\n");
  if (lines.length > 100) throw bad();
  const pub = await subtle.importKey("raw", vk.pub, { name: "Ed25519" }, false, ["verify"]);
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith("\u2014 ")) throw bad();
    const rest = line.slice(2);
    const sp = rest.indexOf(" ");
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b = sp < 0 ? "" : rest.slice(sp + 1);
    let sig;
    try {
      sig = fromB64std(b);
    } catch {
      throw bad();
    }
    if (!validName(name) || sig.length < 5) throw bad();
    if (name !== vk.name || !bytesEqual(sig.subarray(0, 4), vk.hash)) continue;
    if (!(await subtle.verify({ name: "Ed25519" }, pub, sig.subarray(4), utf8(text)))) throw bad();
    verified = true;
  }
  if (!verified) throw bad();
  return text;
}

// verifyCheckpoint checks a signed checkpoint against the pinned origin and verifier key and
// returns the tree it names: {origin, size (BigInt), root (32 bytes)}.
export async function verifyCheckpoint(note, origin, verifierKey) {
  const vk = typeof verifierKey === "string" ? await parseVerifierKey(verifierKey) : verifierKey;
  const text = await openNote(note, vk);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || lines[0] !== origin || lines.slice(3).includes("")) throw keyError("checkpoint");
  let size;
  let root;
  try {
    size = u64(lines[1]);
    root = fromB64std(lines[2]);
  } catch {
    throw keyError("checkpoint");
  }
  if (root.length !== 32) throw keyError("checkpoint");
  return { origin, size, root };
}

// keyReason is the audit entry's reason for a device's keys: "ed25519:" b64 " x25519:" b64.
export function keyReason(signKey, agreeKey) {
  return "ed25519:" + b64(signKey) + " x25519:" + b64(agreeKey);
}

// verifyDevice runs checks 1-3 of section 1 on one device of a directory answer ({deviceId,
// signKey, agreeKey, entry, proof}) owned by account owner. checkpoint is the answer's signed
// note (or the result of verifyCheckpoint); origin and verifierKey are the pinned ones. It
// returns {deviceId, account, signKey, agreeKey} with raw keys, or throws a ConsultError naming
// the failed check: "entry-mismatch" (1), "not-in-log" (2), "checkpoint" (3), "malformed".
export async function verifyDevice(device, owner, checkpoint, origin, verifierKey, who) {
  const tree = typeof checkpoint === "string" ? await verifyCheckpoint(checkpoint, origin, verifierKey) : checkpoint;
  if (tree.origin !== origin) throw keyError("checkpoint", who);
  if (!device || typeof device !== "object" || typeof device.deviceId !== "string" || !device.entry || !Array.isArray(device.proof)) {
    throw keyError("malformed", who);
  }
  let signKey;
  let agreeKey;
  let proof;
  try {
    signKey = fromB64(device.signKey);
    agreeKey = fromB64(device.agreeKey);
    proof = device.proof.map(fromB64);
  } catch {
    throw keyError("malformed", who);
  }
  if (signKey.length !== 32 || agreeKey.length !== 32) throw keyError("malformed", who);
  const e = device.entry;
  // Check 1: the entry names this device, its owner, the action and exactly these keys.
  if (e.resourceId !== device.deviceId || e.actorId !== owner || e.action !== "device.key-add" || e.resourceType !== "DeviceKey" ||
    e.outcome !== "success" || e.reason !== keyReason(signKey, agreeKey) || device.deviceId === "" || owner === "") {
    throw keyError("entry-mismatch", who);
  }
  // Check 2: its leaf is at index seq-1 of the checkpoint's tree.
  let seq;
  let leaf;
  try {
    seq = u64(e.seq);
    leaf = await leafHash(e);
  } catch {
    throw keyError("malformed", who);
  }
  if (seq < 1n || !(await verifyInclusion(leaf, seq - 1n, tree.size, proof, tree.root))) throw keyError("not-in-log", who);
  return { deviceId: device.deviceId, account: owner, signKey, agreeKey };
}
