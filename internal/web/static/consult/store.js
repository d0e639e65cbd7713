// What this browser remembers for the consultation (docs/e2ee.md), in IndexedDB: its device keys
// (CryptoKey objects stored as they are: structured cloning keeps the private keys
// non-extractable, so no script can read them out), the device id each account registered them
// as, the pinned key-transparency log (origin and verifier key, trusted on first use), the
// contacts whose safety number was compared, the receiver state (the last message number
// accepted per sender device and thread) and the sender's next message number per thread.
//
// memoryStore() is the same store kept in memory, for tests and for browsers without IndexedDB
// (then keys last as long as the page).
import { ConsultError, generateDeviceKeys, ReceiverState } from "./crypto.js";

const DB_NAME = "haven-consult";
const DB_VERSION = 1;
const STORES = ["device", "registrations", "pins", "contacts", "receiver", "sender"];

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// done resolves when a write transaction is committed (not merely requested).
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new ConsultError("storage", "This browser could not save Haven's keys. Check that it may store site data."));
    tx.onerror = () => reject(tx.error);
  });
}

// idbBackend keeps records in IndexedDB, one object store per kind, keys out of line.
function idbBackend(name) {
  let dbp = null;
  const db = () => {
    if (!dbp) {
      dbp = new Promise((resolve, reject) => {
        const open = indexedDB.open(name, DB_VERSION);
        open.onupgradeneeded = () => {
          for (const s of STORES) if (!open.result.objectStoreNames.contains(s)) open.result.createObjectStore(s);
        };
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
        open.onblocked = () => reject(new ConsultError("storage", "Close Haven's other tabs, then reload this page."));
      });
    }
    return dbp;
  };
  return {
    async get(store, key) {
      const tx = (await db()).transaction(store, "readonly");
      return request(tx.objectStore(store).get(key));
    },
    async put(store, key, value) {
      const tx = (await db()).transaction(store, "readwrite");
      const committed = done(tx);
      await request(tx.objectStore(store).put(value, key));
      await committed;
    },
    // add writes only if the key is free; it answers whether it wrote.
    async add(store, key, value) {
      const tx = (await db()).transaction(store, "readwrite");
      const committed = done(tx);
      try {
        await request(tx.objectStore(store).add(value, key));
        await committed;
        return true;
      } catch (err) {
        committed.catch(() => {}); // the failed add aborts the transaction too
        if (err && err.name === "ConstraintError") return false;
        throw err;
      }
    },
    async delete(store, key) {
      const tx = (await db()).transaction(store, "readwrite");
      const committed = done(tx);
      await request(tx.objectStore(store).delete(key));
      await committed;
    },
    // update reads and writes one record in a single transaction.
    async update(store, key, fn) {
      const tx = (await db()).transaction(store, "readwrite");
      const os = tx.objectStore(store);
      const committed = done(tx);
      const next = fn(await request(os.get(key)));
      await request(os.put(next, key));
      await committed;
      return next;
    },
  };
}

function memoryBackend() {
  const maps = Object.fromEntries(STORES.map((s) => [s, new Map()]));
  return {
    async get(store, key) {
      return maps[store].get(key);
    },
    async put(store, key, value) {
      maps[store].set(key, value);
    },
    async add(store, key, value) {
      if (maps[store].has(key)) return false;
      maps[store].set(key, value);
      return true;
    },
    async delete(store, key) {
      maps[store].delete(key);
    },
    async update(store, key, fn) {
      const next = fn(maps[store].get(key));
      maps[store].set(key, next);
      return next;
    },
  };
}

const pair = (a, b) => a + "\n" + b;

// ConsultStore is the consultation's memory on this device, over a backend (IndexedDB or memory).
export class ConsultStore {
  constructor(backend) {
    this.b = backend;
  }

  // deviceKeys returns this browser's device keys, making them (non-extractable) the first time.
  async deviceKeys() {
    const have = await this.b.get("device", "keys");
    if (have) return have;
    const made = await generateDeviceKeys();
    const keys = { signPrivate: made.signPrivate, agreePrivate: made.agreePrivate, signKey: made.signKey, agreeKey: made.agreeKey, created: Date.now() };
    // Two tabs may make keys at once: the first stored wins and both use it.
    if (!(await this.b.add("device", "keys", keys))) return this.b.get("device", "keys");
    return keys;
  }

  // putDeviceKeys keeps given keys; test keys (importTestKeys) and extractable keys are refused.
  async putDeviceKeys(keys) {
    if (keys.test || keys.signPrivate.extractable || keys.agreePrivate.extractable) {
      throw new ConsultError("test-key", "Only keys made on this device, which cannot be copied off it, are kept.");
    }
    await this.b.put("device", "keys", { signPrivate: keys.signPrivate, agreePrivate: keys.agreePrivate, signKey: keys.signKey, agreeKey: keys.agreeKey, created: Date.now() });
  }

  // registration is {deviceId, fingerprint} of this browser's keys for an account, or undefined.
  registration(accountId) {
    return this.b.get("registrations", accountId);
  }

  setRegistration(accountId, reg) {
    return this.b.put("registrations", accountId, { deviceId: reg.deviceId, fingerprint: reg.fingerprint, at: Date.now() });
  }

  clearRegistration(accountId) {
    return this.b.delete("registrations", accountId);
  }

  logPin() {
    return this.b.get("pins", "log");
  }

  // pinLog pins the log's origin and verifier key on first use. It answers {status, pin}:
  // "first" (pinned now), "same", or "changed" (the pin is kept unless replace is set, which a
  // page does only after the person was warned and chose to trust the new log).
  async pinLog(origin, verifierKey, { replace = false } = {}) {
    const have = await this.logPin();
    if (!have || replace) {
      const pin = { origin, verifierKey, pinnedAt: Date.now() };
      await this.b.put("pins", "log", pin);
      return { status: have ? "replaced" : "first", pin };
    }
    if (have.origin === origin && have.verifierKey === verifierKey) return { status: "same", pin: have };
    return { status: "changed", pin: have };
  }

  // contact is what was compared with a person: {safetyNumber, verifiedAt}, or undefined.
  contact(me, them) {
    return this.b.get("contacts", pair(me, them));
  }

  // verifyContact records that me compared the safety number with them and it matched.
  verifyContact(me, them, safetyNumber) {
    return this.b.put("contacts", pair(me, them), { safetyNumber, verifiedAt: Date.now() });
  }

  forgetContact(me, them) {
    return this.b.delete("contacts", pair(me, them));
  }

  // receiverState is the ReceiverState of one of this browser's devices.
  async receiverState(deviceId) {
    return new ReceiverState(await this.b.get("receiver", deviceId));
  }

  saveReceiverState(deviceId, state) {
    return this.b.put("receiver", deviceId, state.snapshot());
  }

  // nextSeq reserves the next message number of a device in a thread (1, 2, …).
  async nextSeq(deviceId, thread) {
    const rec = await this.b.update("sender", pair(deviceId, thread), (r) => ({ last: (r ? r.last : 0) + 1 }));
    return rec.last;
  }

  // atLeastSeq makes the next number follow last (what the server already stored, after this
  // browser's data was cleared).
  async atLeastSeq(deviceId, thread, last) {
    await this.b.update("sender", pair(deviceId, thread), (r) => ({ last: Math.max(r ? r.last : 0, last) }));
  }
}

// openStore opens this browser's store (IndexedDB), or one in memory where there is none.
export function openStore(name = DB_NAME) {
  if (typeof indexedDB === "undefined") return memoryStore();
  return new ConsultStore(idbBackend(name));
}

export function memoryStore() {
  return new ConsultStore(memoryBackend());
}
