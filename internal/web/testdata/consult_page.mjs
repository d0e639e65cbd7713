// The Chromium side of TestConsultJSChromium: runs the shared vector checks with Chromium's
// WebCrypto, then checks the IndexedDB store (keys kept across loads, non-extractable, usable;
// message numbers and receiver state kept). The report is left in window.consultReport.
import * as c from "/static/consult/crypto.js";
import { openStore } from "/static/consult/store.js";
import { runVectors } from "/testdata/consult_vectors_run.mjs";

const report = { results: [], refused: {} };
try {
  const file = new URLSearchParams(location.search).get("v") || "0";
  const v = await (await fetch("/vectors/" + encodeURIComponent(file))).json();
  Object.assign(report, await runVectors(c, v));
  const store = openStore("haven-consult-test");
  const keys = await store.deviceKeys();
  const msg = c.utf8("consult");
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, keys.signPrivate, msg));
  let exported = false;
  for (const k of [keys.signPrivate, keys.agreePrivate]) {
    try {
      await crypto.subtle.exportKey("pkcs8", k);
      exported = true;
    } catch {
      // expected: non-extractable
    }
  }
  const state = await store.receiverState("dev-test");
  const before = state.snapshot()[JSON.stringify(["visit.t", "dev-peer"])];
  const next = (before ? before.last : 0) + 1;
  state.accept("visit.t", "dev-peer", next, "id-" + next);
  await store.saveReceiverState("dev-test", state);
  let testKeyStored = true;
  try {
    await store.putDeviceKeys({ ...keys, test: true });
  } catch {
    testKeyStored = false;
  }
  // Two tabs making keys at once end up with the same keys.
  const race = "haven-consult-race-" + Date.now();
  const [k1, k2] = await Promise.all([openStore(race).deviceKeys(), openStore(race).deviceKeys()]);
  const k3 = await openStore(race).deviceKeys();
  report.store = {
    raceSame: c.b64(k1.signKey) === c.b64(k2.signKey) && c.b64(k2.signKey) === c.b64(k3.signKey),
    signKey: c.b64(keys.signKey),
    extractable: keys.signPrivate.extractable || keys.agreePrivate.extractable,
    exported,
    signs: await c.ed25519Verify(keys.signKey, sig, msg),
    seq: await store.nextSeq("dev-test", "visit.t"),
    receiverLast: state.snapshot()[JSON.stringify(["visit.t", "dev-peer"])].last,
    testKeyStored,
  };
} catch (err) {
  report.error = String((err && err.stack) || err);
}
window.consultReport = report;
