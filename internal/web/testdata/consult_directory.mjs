// Runs the browser's key directory (static/consult/directory.js over store.js's memory store)
// against a fake Haven built from a vector file's key log. Usage:
//   node consult_directory.mjs <static/consult dir> <vectors.json>
// Prints {"results": [...], "refused": {...}} like consult_vectors.mjs.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [dir, vectorsPath] = process.argv.slice(2);
const mod = (name) => import(pathToFileURL(path.join(dir, name)).href);
const c = await mod("crypto.js");
const { Directory, sealFor, ThreadReader } = await mod("directory.js");
const { memoryStore } = await mod("store.js");
const v = JSON.parse(await readFile(vectorsPath, "utf8"));
const L = v.log;

const results = [];
const refused = {};
async function check(section, name, fn) {
  try {
    const detail = await fn();
    results.push({ section, name, ok: detail === true || detail === undefined, detail: detail === true || detail === undefined ? "" : String(detail) });
  } catch (err) {
    results.push({ section, name, ok: false, detail: (err && err.code ? err.code + ": " : "") + (err && err.stack ? err.stack : err) });
  }
}
const eq = (got, want) => (got === want ? true : "got " + JSON.stringify(got) + ", want " + JSON.stringify(want));

// A fake Haven: routes answer from `server`, and every request is recorded.
function fakeHaven(server) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const method = init.method || "GET";
    calls.push(method + " " + url);
    const route = server[method + " " + url];
    if (!route) return new Response(JSON.stringify({ error: "not found" }), { status: 404 });
    const [status, body, type] = await route(init);
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": type || "application/json" } });
  };
  return { fetch, calls };
}

const devs = Object.fromEntries(L.devices.map((d) => [d.device.deviceId, d]));
const person = (accountId, displayName, ids) => ({ accountId, role: "patient", displayName, devices: ids.map((id) => structuredClone(devs[id].device)) });

// Registration.
await check("directory", "registers once, again only when removed", async () => {
  const store = memoryStore();
  let listed = [];
  let posts = 0;
  let posted;
  const h = fakeHaven({
    "GET /api/v1/me/devices": async () => [200, { devices: listed }],
    "POST /api/v1/me/devices": async (init) => {
      posts++;
      posted = JSON.parse(init.body);
      const fp = await c.fingerprint(c.fromB64(posted.signKey), c.fromB64(posted.agreeKey));
      listed = [{ deviceId: "dev-new", fingerprint: fp }];
      return [201, { deviceId: "dev-new", fingerprint: fp, entry: { resourceId: "dev-new", actorId: "acct-me", action: "device.key-add",
        reason: c.keyReason(c.fromB64(posted.signKey), c.fromB64(posted.agreeKey)) } }];
    },
  });
  const d = new Directory({ store, fetch: h.fetch });
  const a = await d.ensureRegistered("acct-me", { label: "Test" });
  const b = await d.ensureRegistered("acct-me");
  if (posts !== 1 || a.deviceId !== "dev-new" || b.deviceId !== "dev-new") return "registered " + posts + " times";
  if (a.keys.signPrivate.extractable || a.keys.agreePrivate.extractable) return "device keys extractable";
  if (Object.keys(posted).sort().join(",") !== "agreeKey,label,signKey") return "posted more than the public keys: " + Object.keys(posted);
  listed = [];
  await d.ensureRegistered("acct-me");
  return eq(posts, 2);
});

await check("directory", "refuses an answer for other keys", async () => {
  const h = fakeHaven({
    "GET /api/v1/me/devices": async () => [200, { devices: [] }],
    "POST /api/v1/me/devices": async () => [201, { deviceId: "dev-x", fingerprint: "00" }],
  });
  try {
    await new Directory({ store: memoryStore(), fetch: h.fetch }).ensureRegistered("acct-me");
    return "accepted";
  } catch (err) {
    return eq(err.code, "registration");
  }
});

await check("directory", "test keys are never stored", async () => {
  const k = v.keys[0];
  const dk = await c.importTestKeys({ signSeed: c.fromHex(k.signSeed), agreePrivate: c.fromHex(k.agreePrivate) });
  try {
    await memoryStore().putDeviceKeys(dk);
    return "stored";
  } catch (err) {
    return eq(err.code, "test-key");
  }
});

// Key answers.
const [d1, d2, d3] = L.devices.map((d) => d.device.deviceId); // alice-1, bob-1, alice-2
const bob = devs[d2].owner;
const alice = devs[d1].owner;
function keysServer(answer, vkey = L.verifierKey) {
  return fakeHaven({
    "GET /api/v1/visits/v-1/keys": async () => [200, answer()],
    "GET /api/v1/audit/key": async () => [200, vkey() + "\n", "text/plain"],
  });
}

await check("directory", "verifies, pins, marks verified and then changed", async () => {
  const store = memoryStore();
  let people = [person(alice, "Dr Rivera", [d1]), person(bob, "Bob", [d2])];
  const h = keysServer(() => ({ checkpoint: L.checkpoint, origin: L.origin, people }), () => L.verifierKey);
  const d = new Directory({ store, fetch: h.fetch });
  const s1 = await d.visitKeys("v-1", bob);
  const pin = await store.logPin();
  if (!pin || pin.origin !== L.origin || pin.verifierKey !== L.verifierKey) return "log not pinned";
  const a1 = s1.people.find((p) => p.accountId === alice);
  if (a1.devices.length !== 1 || a1.refused.length || a1.status !== "unverified") return "first answer: " + JSON.stringify(a1.refused) + " " + a1.status;
  if (s1.recipients().length !== 2 || !s1.senderKey(alice, d1)) return "recipients or sender key missing";
  if (!/^\d{60}$/.test(a1.safetyNumber)) return "safety number " + a1.safetyNumber;
  await d.markVerified(bob, a1);
  const s2 = await d.visitKeys("v-1", bob);
  if (s2.people.find((p) => p.accountId === alice).status !== "verified") return "not verified after compare";
  // Alice gets a new device (a leaf in the log): her safety number changes and the page is told.
  people = [person(alice, "Dr Rivera", [d1, d3]), person(bob, "Bob", [d2])];
  const s3 = await d.visitKeys("v-1", bob);
  if (s3.changed.length !== 1 || s3.changed[0].accountId !== alice) return "changed not marked";
  if (!s3.warnings.some((w) => w.includes("Dr Rivera"))) return "warning does not name the person";
  refused.changed = 1;
  return true;
});

await check("directory", "a swapped key is refused with a warning naming the person", async () => {
  const swapped = person(alice, "Dr Rivera", [d1]);
  swapped.devices[0].agreeKey = devs[d2].device.agreeKey;
  const h = keysServer(() => ({ checkpoint: L.checkpoint, origin: L.origin, people: [swapped, person(bob, "Bob", [d2])] }), () => L.verifierKey);
  const s = await new Directory({ store: memoryStore(), fetch: h.fetch }).visitKeys("v-1", bob);
  const a = s.people.find((p) => p.accountId === alice);
  if (a.devices.length !== 0 || a.refused.length !== 1 || a.refused[0].code !== "entry-mismatch") return "swapped key accepted: " + JSON.stringify(a.refused);
  if (s.senderKey(alice, d1) !== null || s.recipients().some((r) => r.device === d1)) return "swapped device still used";
  if (!a.warnings[0].includes("Dr Rivera")) return "warning: " + a.warnings[0];
  refused.swapped = 1;
  return true;
});

await check("directory", "another log or another signing key is refused", async () => {
  const store = memoryStore();
  let cp = L.checkpoint;
  let origin = L.origin;
  let vkey = L.verifierKey;
  const h = keysServer(() => ({ checkpoint: cp, origin, people: [person(bob, "Bob", [d2])] }), () => vkey);
  const d = new Directory({ store, fetch: h.fetch });
  await d.visitKeys("v-1", bob);
  const codes = [];
  origin = "haven.audit/ffffffffffffffffffffffffffffffff";
  cp = L.foreignOriginCheckpoint;
  await d.visitKeys("v-1", bob).then(() => codes.push("ok"), (e) => codes.push(e.code));
  origin = L.origin;
  cp = L.foreignKeyCheckpoint;
  vkey = L.foreignVerifierKey;
  await d.visitKeys("v-1", bob).then(() => codes.push("ok"), (e) => codes.push(e.code));
  vkey = L.verifierKey;
  await d.visitKeys("v-1", bob).then(() => codes.push("ok"), (e) => codes.push(e.code));
  const pin = await store.logPin();
  if (pin.verifierKey !== L.verifierKey) return "pin replaced without the person's choice";
  return eq(codes.join(","), "log-changed,log-changed,checkpoint");
});

await check("directory", "malformed answers are refused without a crash", async () => {
  const bad = [];
  for (const answer of [null, [], {}, { checkpoint: 1 }, { checkpoint: L.checkpoint, origin: L.origin, people: "x" },
    { checkpoint: L.checkpoint, origin: L.origin, people: [null, 1, { accountId: bob, devices: [null, 1, "x", {}] }] }]) {
    const h = keysServer(() => answer, () => L.verifierKey);
    try {
      const s = await new Directory({ store: memoryStore(), fetch: h.fetch }).visitKeys("v-1", bob);
      if (s.recipients().length) bad.push(JSON.stringify(answer) + " gave recipients");
    } catch (err) {
      if (!(err instanceof c.ConsultError)) bad.push(JSON.stringify(answer) + " threw " + err);
    }
  }
  return bad.length ? bad.join("; ") : true;
});

// Sending and reading a thread with sealFor and ThreadReader.
await check("directory", "sealFor and ThreadReader: history, live, replay, changed", async () => {
  const testKeys = async (device) => {
    const k = v.keys.find((x) => x.device === device);
    return { accountId: k.account, deviceId: device, keys: await c.importTestKeys({ signSeed: c.fromHex(k.signSeed), agreePrivate: c.fromHex(k.agreePrivate) }) };
  };
  const bobMe = await testKeys(d2);
  const aliceMe = await testKeys(d1);
  let people = [person(alice, "Dr Rivera", [d1, d3]), person(bob, "Bob", [d2])];
  const h = keysServer(() => ({ checkpoint: L.checkpoint, origin: L.origin, people }), () => L.verifierKey);
  const bobStore = memoryStore();
  const bobDir = new Directory({ store: bobStore, fetch: h.fetch });
  const set = await bobDir.visitKeys("v-1", bob);
  const e1 = await sealFor(bobStore, set, bobMe, { text: "one", attachments: [] });
  const e2 = await sealFor(bobStore, set, bobMe, { text: "two", attachments: [] });
  if (e1.seq !== 1 || e2.seq !== 2 || e1.recipients.length !== 3) return "seq " + e1.seq + "," + e2.seq + " recipients " + e1.recipients.length;
  const aliceStore = memoryStore();
  const aliceSet = await new Directory({ store: aliceStore, fetch: h.fetch }).visitKeys("v-1", alice);
  const reader = new ThreadReader(aliceStore, aliceSet, aliceMe);
  const all = await reader.openAll([e1, e1, e2]);
  const got = all.map((r) => (r.message ? r.message.message.text : r.refused)).join(",");
  if (got !== "one,replayed,two") return "history " + got;
  const again = await reader.openNew(e1);
  if (again.refused !== "replayed") return "old message accepted as new: " + JSON.stringify(again);
  // History read again after a reload is shown again, oldest first.
  const reload = await new ThreadReader(aliceStore, aliceSet, aliceMe).openAll([e1, e2]);
  if (reload.some((r) => !r.message)) return "history refused after reload";
  // Bob's browser lost its data: his own messages tell it where its numbering stands.
  const fresh = memoryStore();
  await new ThreadReader(fresh, set, bobMe).openAll([e1, e2]);
  const e3 = await sealFor(fresh, set, bobMe, { text: "three", attachments: [] });
  if (e3.seq !== 3) return "numbering restarted at " + e3.seq;
  // A compared safety number changed: nothing is sent until the person chooses to.
  await bobDir.markVerified(bob, set.people.find((p) => p.accountId === alice));
  people = [person(alice, "Dr Rivera", [d1]), person(bob, "Bob", [d2])];
  const changed = await bobDir.visitKeys("v-1", bob);
  try {
    await sealFor(bobStore, changed, bobMe, { text: "held", attachments: [] });
    return "sent despite a changed safety number";
  } catch (err) {
    if (err.code !== "changed" || !err.message.includes("Dr Rivera")) return "refusal " + err.code + ": " + err.message;
  }
  const forced = await sealFor(bobStore, changed, bobMe, { text: "anyway", attachments: [] }, { force: true });
  return eq(forced.recipients.length, 2);
});

// A seeded fuzz of the directory answer: each round changes one value somewhere in a valid
// answer. Whatever happens, nothing but a ConsultError escapes, and a device that is accepted is
// exactly one the log holds (same id, owner and keys): no mutation gets a key accepted.
await check("directory", "fuzzed answers never get a key accepted", async () => {
  let seed = 0x2545f491;
  const rand = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const legit = new Set(L.devices.map((d) => [d.device.deviceId, d.owner, d.device.signKey, d.device.agreeKey].join(" ")));
  const base = { checkpoint: L.checkpoint, origin: L.origin, people: [person(alice, "Dr Rivera", [d1, d3]), person(bob, "Bob", [d2])] };
  const swaps = [null, 0, 1, "", "x", [], {}, true, L.devices[0].device.signKey, L.devices[1].device.agreeKey, alice, d2, "17", "AAAA"];
  const paths = [];
  const walk = (x, p) => {
    paths.push(p);
    if (x && typeof x === "object") for (const k of Object.keys(x)) walk(x[k], [...p, k]);
  };
  walk(base, []);
  const problems = [];
  const store = memoryStore();
  const h0 = keysServer(() => base, () => L.verifierKey);
  await new Directory({ store, fetch: h0.fetch }).visitKeys("v-1", bob); // pins the log
  for (let round = 0; round < 400; round++) {
    const answer = structuredClone(base);
    const p = paths[1 + rand(paths.length - 1)];
    let o = answer;
    for (const k of p.slice(0, -1)) o = o[k];
    const last = p[p.length - 1];
    if (rand(4) === 0 && typeof o[last] === "string" && o[last].length) {
      const i = rand(o[last].length);
      o[last] = o[last].slice(0, i) + String.fromCharCode(o[last].charCodeAt(i) ^ (1 + rand(31))) + o[last].slice(i + 1);
    } else {
      o[last] = structuredClone(swaps[rand(swaps.length)]);
    }
    const h = keysServer(() => answer, () => L.verifierKey);
    try {
      const set = await new Directory({ store, fetch: h.fetch }).visitKeys("v-1", bob);
      for (const q of set.people) {
        for (const d of q.devices) {
          const got = [d.deviceId, d.account, c.b64(d.signKey), c.b64(d.agreeKey)].join(" ");
          if (!legit.has(got)) problems.push(p.join(".") + ": accepted " + got);
        }
      }
    } catch (err) {
      if (!(err instanceof c.ConsultError)) problems.push(p.join(".") + ": threw " + err);
    }
  }
  return problems.length ? problems.slice(0, 5).join("; ") : true;
});

process.stdout.write(JSON.stringify({ results, refused }) + "\n");
