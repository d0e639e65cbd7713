// The key directory as the browser uses it (docs/e2ee.md sections 1 and 2): registering this
// browser's device keys for the signed-in account, and fetching the keys of a visit's
// participants or of a secure-messaging thread's members. Every device must pass verifyDevice
// (its log entry, its inclusion proof, a checkpoint signed by the pinned key) before its keys are
// used; one that fails is refused with a warning naming its owner. A contact whose safety number
// was compared and has since changed is marked "changed", so the page warns before sending.
import {
  ConsultError, ReceiverState, b64, fingerprint, keyReason, openEnvelope, parseVerifierKey, safetyNumber, sealEnvelope, verifyCheckpoint, verifyDevice,
} from "./crypto.js";
import { openStore } from "./store.js";

// The most people and devices one answer may name (a visit has at most four participants, a
// care team some dozens); beyond that the answer is refused rather than processed.
const MAX_PEOPLE = 200;
const MAX_DEVICES = 20;

const logWarning = "Haven's key log could not be checked, so nothing is sent or shown. Reload the page; if this goes on, tell your clinic.";

function sameOriginFetch(fetchFn) {
  return async (url, init = {}) => {
    const resp = await fetchFn(url, { credentials: "same-origin", cache: "no-store", ...init });
    if (!resp.ok) {
      const data = await resp.json().catch(() => ({}));
      const err = new ConsultError("http", typeof data.error === "string" ? data.error : "The request failed. Reload the page and try again.");
      err.status = resp.status;
      throw err;
    }
    return resp;
  };
}

const isString = (x) => typeof x === "string";

// threadKeysPath is where a thread's keys are served: visit.<id> or patient.<id>.
export function threadKeysPath(thread) {
  const m = /^(visit|patient)\.(.+)$/.exec(thread || "");
  if (!m) throw new ConsultError("malformed", "This conversation's name is not one Haven knows.");
  const id = encodeURIComponent(m[2]);
  return m[1] === "visit" ? "/api/v1/visits/" + id + "/keys" : "/api/v1/patients/" + id + "/thread/keys";
}

// Directory talks to Haven's key directory for one browser. store is a ConsultStore (store.js),
// fetch the fetch function (tests pass their own), base the server's origin ("" on a page).
export class Directory {
  constructor({ store, fetch: fetchFn, base = "" } = {}) {
    this.store = store || openStore();
    this.fetch = sameOriginFetch(fetchFn || globalThis.fetch.bind(globalThis));
    this.base = base;
  }

  async json(path, init) {
    const resp = await this.fetch(this.base + path, { headers: { Accept: "application/json" }, ...init });
    return resp.json();
  }

  // ensureRegistered registers this browser's keys for the account unless they already are,
  // and answers {accountId, deviceId, fingerprint, keys} (what sealFor and ThreadReader call me). A registration the server no longer lists (the
  // device was removed) is made again.
  async ensureRegistered(accountId, { label = "This browser" } = {}) {
    const keys = await this.store.deviceKeys();
    const fp = await fingerprint(keys.signKey, keys.agreeKey);
    const reg = await this.store.registration(accountId);
    if (reg && reg.fingerprint === fp) {
      const listed = await this.json("/api/v1/me/devices");
      const devices = Array.isArray(listed) ? listed : listed && Array.isArray(listed.devices) ? listed.devices : [];
      if (devices.some((d) => d && d.deviceId === reg.deviceId && (d.fingerprint === undefined || d.fingerprint === fp))) return { accountId, deviceId: reg.deviceId, fingerprint: fp, keys };
    }
    const answer = await this.json("/api/v1/me/devices", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ signKey: b64(keys.signKey), agreeKey: b64(keys.agreeKey), label }),
    });
    if (!answer || !isString(answer.deviceId) || answer.deviceId === "" || answer.fingerprint !== fp) {
      throw new ConsultError("registration", "Haven answered for other keys than this browser's. Reload the page; if this goes on, tell your clinic.");
    }
    const e = answer.entry;
    if (e && (e.resourceId !== answer.deviceId || e.actorId !== accountId || e.action !== "device.key-add" || e.reason !== keyReason(keys.signKey, keys.agreeKey))) {
      throw new ConsultError("registration", "Haven's log entry for this browser's keys is wrong. Tell your clinic.");
    }
    await this.store.setRegistration(accountId, { deviceId: answer.deviceId, fingerprint: fp });
    return { accountId, deviceId: answer.deviceId, fingerprint: fp, keys };
  }

  // removeDevice removes this browser's registration for the account.
  async removeDevice(accountId) {
    const reg = await this.store.registration(accountId);
    if (!reg) return;
    await this.fetch(this.base + "/api/v1/me/devices/" + encodeURIComponent(reg.deviceId), { method: "DELETE" });
    await this.store.clearRegistration(accountId);
  }

  // currentVerifierKey asks Haven for its checkpoint verifier key (text or a JSON string).
  async currentVerifierKey() {
    const resp = await this.fetch(this.base + "/api/v1/audit/key", { headers: { Accept: "text/plain" } });
    let text = (await resp.text()).trim();
    if (text.startsWith('"')) text = JSON.parse(text);
    await parseVerifierKey(text);
    return text;
  }

  // pinnedLog answers the log to verify an answer from origin against: pinned on first use; a
  // different origin is refused with a warning (ConsultError "log-changed").
  async pinnedLog(origin) {
    let pin = await this.store.logPin();
    if (!pin) pin = (await this.store.pinLog(origin, await this.currentVerifierKey())).pin;
    if (pin.origin !== origin) {
      throw new ConsultError("log-changed", "Haven's key log is not the one this browser knows, so nothing is sent or shown. Tell your clinic before you go on.");
    }
    return pin;
  }

  // visitKeys and threadKeys fetch and verify the keys of a visit's participants or a patient's
  // thread members; keysForThread picks by thread name. me is the signed-in account id.
  visitKeys(visitId, me) {
    return this.keysForThread("visit." + visitId, me);
  }

  threadKeys(patientId, me) {
    return this.keysForThread("patient." + patientId, me);
  }

  async keysForThread(thread, me) {
    const answer = await this.json(threadKeysPath(thread));
    return this.verifyAnswer(answer, me, thread);
  }

  // verifyAnswer checks a directory answer. It answers a KeySet; it throws only when the
  // checkpoint itself cannot be trusted (then no key at all may be used).
  async verifyAnswer(answer, me, thread) {
    if (!answer || typeof answer !== "object" || !isString(answer.checkpoint) || !isString(answer.origin) || !Array.isArray(answer.people) ||
      answer.people.length > MAX_PEOPLE) {
      throw new ConsultError("malformed", logWarning);
    }
    const pin = await this.pinnedLog(answer.origin);
    let tree;
    try {
      tree = await verifyCheckpoint(answer.checkpoint, pin.origin, pin.verifierKey);
    } catch (err) {
      // A checkpoint Haven signed with another key than the pinned one is a changed log.
      const now = await this.currentVerifierKey().catch(() => pin.verifierKey);
      if (now !== pin.verifierKey) {
        throw new ConsultError("log-changed", "Haven's key log is signed by another key than the one this browser knows, so nothing is sent or shown. Tell your clinic before you go on.");
      }
      throw new ConsultError(err.code || "checkpoint", logWarning);
    }
    const people = [];
    for (const p of answer.people) {
      if (!p || !isString(p.accountId) || p.accountId === "" || !Array.isArray(p.devices)) continue;
      const who = isString(p.displayName) && p.displayName !== "" ? p.displayName : "a participant";
      const person = { accountId: p.accountId, role: isString(p.role) ? p.role : "", displayName: who, devices: [], refused: [], warnings: [] };
      for (const d of p.devices.slice(0, MAX_DEVICES)) {
        try {
          const ok = await verifyDevice(d, p.accountId, tree, pin.origin, pin.verifierKey, who);
          ok.fingerprint = await fingerprint(ok.signKey, ok.agreeKey);
          person.devices.push(ok);
        } catch (err) {
          person.refused.push({ deviceId: d && isString(d.deviceId) ? d.deviceId : "", code: err.code || "malformed" });
          person.warnings.push(err instanceof ConsultError ? err.message : "The keys of " + who + " could not be verified.");
        }
      }
      if (p.devices.length > MAX_DEVICES) person.warnings.push("The keys of " + who + " could not all be checked: too many devices.");
      people.push(person);
    }
    return this.withSafetyNumbers(new KeySet(thread, tree, people), me);
  }

  // withSafetyNumbers works out each person's safety number with me and compares it with what
  // was verified before: status "me", "verified", "unverified" or "changed".
  async withSafetyNumbers(set, me) {
    const mine = set.people.find((p) => p.accountId === me);
    const myKeys = mine ? mine.devices.map((d) => d.signKey) : [];
    for (const p of set.people) {
      if (p.accountId === me) {
        p.status = "me";
        p.safetyNumber = null;
        continue;
      }
      p.safetyNumber = await safetyNumber({ accountId: me, signKeys: myKeys }, { accountId: p.accountId, signKeys: p.devices.map((d) => d.signKey) });
      const seen = await this.store.contact(me, p.accountId);
      p.status = !seen ? "unverified" : seen.safetyNumber === p.safetyNumber ? "verified" : "changed";
      if (p.status === "changed") {
        p.warnings.push("The safety number with " + p.displayName + " changed since you compared it. Compare it again before you send anything.");
      }
    }
    return set;
  }

  // markVerified records that me compared the safety number with person ("It matches").
  markVerified(me, person) {
    return this.store.verifyContact(me, person.accountId, person.safetyNumber);
  }
}

// KeySet is a verified directory answer: the people of a thread, each with the devices that
// passed every check, the ones refused and the warnings to show.
export class KeySet {
  constructor(thread, tree, people) {
    this.thread = thread;
    this.treeSize = tree.size;
    this.people = people;
  }

  // changed names the people whose compared safety number changed: nothing is sent until the
  // person compares again (or chooses to send anyway).
  get changed() {
    return this.people.filter((p) => p.status === "changed");
  }

  get warnings() {
    return this.people.flatMap((p) => p.warnings);
  }

  // senderKey is openEnvelope's lookup: the verified signing key of a device of account.
  senderKey(account, device) {
    const p = this.people.find((x) => x.accountId === account);
    const d = p && p.devices.find((x) => x.deviceId === device);
    return d ? d.signKey : null;
  }

  // device is one verified device by id, with its owner.
  device(deviceId) {
    for (const p of this.people) {
      const d = p.devices.find((x) => x.deviceId === deviceId);
      if (d) return { ...d, person: p };
    }
    return null;
  }

  // recipients are sealEnvelope's: every verified device of every member, the sender's own
  // other devices included.
  recipients() {
    return this.people.flatMap((p) => p.devices.map((d) => ({ device: d.deviceId, agreeKey: d.agreeKey })));
  }
}

// sealFor seals a message (text and attachments, as section 3's plaintext) in a thread for every
// verified device of its members, this browser's own included, with the device's next message
// number. While a compared safety number has changed it refuses ("changed") unless force is set:
// the person was warned and chose to send anyway. me is what ensureRegistered answered.
export async function sealFor(store, keySet, me, plaintext, { force = false, sentAt } = {}) {
  const changed = keySet.changed;
  if (changed.length && !force) {
    throw new ConsultError("changed", "The safety number with " + changed.map((p) => p.displayName).join(", ") +
      " changed since you compared it. Compare it again before you send anything.");
  }
  const recipients = keySet.recipients();
  if (!recipients.some((r) => r.device === me.deviceId)) recipients.push({ device: me.deviceId, agreeKey: me.keys.agreeKey });
  const seq = await store.nextSeq(me.deviceId, keySet.thread);
  return sealEnvelope({
    thread: keySet.thread, seq, sentAt, recipients, plaintext,
    sender: { account: me.accountId, device: me.deviceId, signPrivate: me.keys.signPrivate },
  });
}

// ThreadReader opens a thread's envelopes on this device. openAll reads a whole listing (the
// thread from its start, oldest first) with a fresh receiver state, so a message repeated or out
// of order within it is refused, then keeps the furthest state; openNew reads a message that
// arrives later against the kept state, so the server cannot deliver an old message again as
// new. Each result is {message} or {refused: code, error: what to show, id}.
export class ThreadReader {
  constructor(store, keySet, me) {
    this.store = store;
    this.keySet = keySet;
    this.me = me;
    this.queue = Promise.resolve();
  }

  // serial runs one open at a time: the receiver state is read, advanced and written as a unit.
  serial(fn) {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  openAll(envelopes) {
    return this.serial(async () => {
      const state = new ReceiverState();
      const out = [];
      for (const env of envelopes) out.push(await this.open(env, state));
      const kept = await this.store.receiverState(this.me.deviceId);
      kept.merge(state);
      await this.store.saveReceiverState(this.me.deviceId, kept);
      return out;
    });
  }

  openNew(env) {
    return this.serial(async () => {
      const state = await this.store.receiverState(this.me.deviceId);
      const r = await this.open(env, state);
      if (r.message) await this.store.saveReceiverState(this.me.deviceId, state);
      return r;
    });
  }

  async open(env, state) {
    try {
      const message = await openEnvelope(env, {
        thread: this.keySet.thread, device: this.me.deviceId, agreePrivate: this.me.keys.agreePrivate, agreeKey: this.me.keys.agreeKey,
        senderKey: (account, device) => this.keySet.senderKey(account, device), state,
      });
      // This device's own earlier messages tell where its numbering stands (after site data was cleared).
      if (message.sender.device === this.me.deviceId) await this.store.atLeastSeq(this.me.deviceId, this.keySet.thread, message.seq);
      return { message };
    } catch (err) {
      if (!(err instanceof ConsultError)) throw err;
      return { refused: err.code, error: err.message, id: env && typeof env.id === "string" ? env.id : "" };
    }
  }
}
