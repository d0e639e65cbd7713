// Byte helpers for the consultation's protocol (docs/e2ee.md, "Encodings"): base64url without
// padding (b64), standard base64 (the signed notes of the audit log), hex, UTF-8 and u32, the
// length-prefixed field. Decoders are strict: one text has exactly one reading.

// ConsultError is every refusal of the consultation modules: code says which check failed (for
// tests and the page's choice of warning), message is what a person reads.
export class ConsultError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ConsultError";
    this.code = code;
  }
}

function malformed(what) {
  return new ConsultError("malformed", "A " + what + " value is damaged.");
}

function binary(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}

export function b64std(bytes) {
  return btoa(binary(bytes));
}

export function fromB64std(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw malformed("base64");
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  if (b64std(out) !== text) throw malformed("base64");
  return out;
}

export function b64(bytes) {
  return b64std(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw malformed("base64url");
  const std = text.replace(/-/g, "+").replace(/_/g, "/");
  const out = fromB64std(std + "=".repeat((4 - (std.length % 4)) % 4));
  if (b64(out) !== text) throw malformed("base64url");
  return out;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text)) throw malformed("hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();

export function utf8(text) {
  return encoder.encode(text);
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

// u32 is x's length as 4 bytes big-endian, then x (a string is taken as its UTF-8 bytes).
export function u32(x) {
  const bytes = typeof x === "string" ? utf8(x) : x;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function bytesEqual(a, b) {
  return a.length === b.length && compareBytes(a, b) === 0;
}
