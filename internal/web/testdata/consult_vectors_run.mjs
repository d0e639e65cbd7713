// The checks of the consultation crypto against a test-vector file, shared by the node runner
// (consult_vectors.mjs) and the Chromium page (consult_page.mjs): c is static/consult/crypto.js,
// v the parsed vectors. Answers {results: [{section, name, ok, detail}], refused: {kind: n}}.
//
// The vector file's shape (internal/web/testdata/consult_vectors.json; bytes as hex where they are
// inputs, as the protocol's b64 where they are wire values):
//   keys:       [{name, account, device, signSeed, agreePrivate, signKey, agreeKey, fingerprint}]
//   safety:     [{a: {accountId, signKeys: [b64]}, b: {…}, number: "60 digits"}]
//   envelopes:  [{name, thread, sender: key name, seq, sentAt, recipients: [key names], plaintext
//                 (the exact UTF-8 text), fixed: {id, contentKey, iv, ivs: {device: iv}, ephemeral}, envelope}]
//   rejections: [{name, kind, receiver: key name, thread asked for, envelopes: [envelope],
//                 expect: ["ok" | refusal code, one per envelope, opened in order with one state]}]
//   files:      [{plaintext (hex), key, iv, ciphertext, sha256}]
//   dtls:       [{visitId, from, to, signer: key name, kind, sdp, nonce (hex), fingerprint, sig}]
//   log:        {origin, verifierKey, checkpoint, size, root (std base64), devices: [{owner, canonical
//                (hex), leaf (hex), device: {deviceId, signKey, agreeKey, entry, proof}}],
//                foreignKeyCheckpoint, foreignOriginCheckpoint, foreignVerifierKey,
//                leaves: [{entry, canonical, leaf}], cases: [{name, owner, device, checkpoint, want}]}
//   sdp:        [{name, sdp, fingerprint ("" when refused)}]
// An expected refusal code may list alternatives ("replayed|reordered"). The shared file of
// package e2ee (internal/consult/e2ee/testdata/vectors.json) is in its own shape, mapped to this
// one by adapt.
export function adapt(c, v) {
  if (!(v.devices && v.seal)) return v;
  const b = (h) => c.b64(c.fromHex(h));
  const names = Object.fromEntries(v.devices.map((d) => [d.device, d.name]));
  // The Go side's refusal names, as the browser's codes.
  const codes = {
    ok: "ok", altered: "bad-signature|undecryptable|malformed", replayed: "replayed|reordered", wrongThread: "wrong-thread",
    notForMe: "not-a-recipient", keyNotInEntry: "entry-mismatch", notInLog: "not-in-log", badCheckpoint: "checkpoint|malformed",
  };
  const code = (w) => codes[w] || "unknown Go refusal " + w;
  const kind = (o) => {
    const wants = o.steps.map((x) => x.want);
    if (wants.every((w) => w === "ok")) return "accepted";
    if (wants.includes("replayed")) return /reorder/i.test(o.name) ? "reordered" : "replayed";
    if (wants.includes("altered")) return "altered";
    return wants.find((w) => w !== "ok");
  };
  const t = v.transparency;
  return {
    keys: v.devices.map((d) => ({ name: d.name, account: d.account, device: d.device, signSeed: d.signSeedHex, agreePrivate: d.agreePrivateHex,
      signKey: b(d.signPublicHex), agreeKey: b(d.agreePublicHex), fingerprint: d.fingerprint })),
    safety: v.safetyNumbers.map((x) => ({
      name: x.name,
      a: { accountId: x.a.account, signKeys: x.a.signPublicsHex.map(b), digits: x.a.digits },
      b: { accountId: x.b.account, signKeys: x.b.signPublicsHex.map(b), digits: x.b.digits },
      number: x.safetyNumber.replace(/ /g, ""), formatted: x.safetyNumber,
    })),
    envelopes: v.seal.map((x) => ({
      name: x.name, thread: x.thread, sender: x.sender, seq: x.seq, sentAt: x.sentAt, plaintext: x.plaintext, envelope: x.envelope,
      recipients: x.recipients.map((r) => names[r.device]), signedData: x.signedDataHex, bodyAad: x.bodyAadHex,
      fixed: { id: x.idHex, contentKey: x.contentKeyHex, iv: x.ivHex, ephemeral: x.ephemeralPrivateHex,
        ivs: Object.fromEntries(x.recipients.map((r) => [r.device, r.ivHex])) },
    })),
    rejections: v.open.map((o) => ({ name: o.name, kind: kind(o), receiver: o.recipient, thread: o.thread, envelopes: o.steps.map((x) => x.envelope),
      expect: o.steps.map((x) => code(x.want)), plaintexts: o.steps.map((x) => (x.want === "ok" ? x.plaintext : undefined)) })),
    files: v.files.map((f) => ({ plaintext: f.plaintextHex, key: b(f.keyHex), iv: b(f.ivHex), ciphertext: b(f.ciphertextHex), sha256: f.sha256 })),
    dtls: v.dtls.map((d) => ({ visitId: d.visitId, from: d.from, to: d.to, signer: d.signer, kind: d.payload.kind, sdp: d.payload.sdp,
      nonce: d.nonceHex, fingerprint: d.fingerprint, sig: d.payload.sig, signedData: d.signedDataHex })),
    sdp: v.sdp,
    log: {
      origin: t.origin, verifierKey: t.verifierKey, checkpoint: t.checkpoint, size: t.treeSize, root: c.b64std(c.fromHex(t.rootHashHex)),
      devices: t.cases.filter((x) => x.want === "ok" && x.checkpoint === t.checkpoint).map((x) => ({ owner: x.owner, device: x.device })),
      leaves: t.leaves.map((l) => ({ entry: l.entry, canonical: l.canonicalHex, leaf: l.leafHashHex })),
      cases: t.cases.map((x) => ({ name: x.name, owner: x.owner, device: x.device, checkpoint: x.checkpoint, want: code(x.want) })),
    },
  };
}

// sameJSON compares two JSON values whatever the order of their objects' keys.
function sameJSON(a, b) {
  const norm = (x) => (Array.isArray(x) ? x.map(norm) : x && typeof x === "object"
    ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, norm(x[k])])) : x);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

// matches reports whether a refusal code is one of the expected alternatives.
const matches = (got, want) => want.split("|").includes(got);

export async function runVectors(c, raw) {
  const v = adapt(c, raw);
  const results = [];
  const refused = {};
  const record = (section, name, ok, detail) => results.push({ section, name, ok: !!ok, detail: ok ? "" : String(detail || "") });
  async function check(section, name, fn) {
    try {
      const detail = await fn();
      record(section, name, detail === true || detail === undefined, detail);
    } catch (err) {
      record(section, name, false, (err && err.code ? err.code + ": " : "") + (err && err.stack ? err.stack : err));
    }
  }
  const eq = (got, want) => (got === want ? true : "got " + JSON.stringify(got) + ", want " + JSON.stringify(want));
  const hexb = (s) => c.fromHex(s);

  // Keys by name, imported from their raw private halves (test mode).
  const keys = {};
  for (const k of v.keys || []) {
    await check("keys", k.name, async () => {
      const dk = await c.importTestKeys({ signSeed: hexb(k.signSeed), agreePrivate: hexb(k.agreePrivate) });
      keys[k.name] = { ...k, dk };
      if (dk.signPrivate.extractable || dk.agreePrivate.extractable) return "test keys must be non-extractable too";
      const e1 = eq(c.b64(dk.signKey), k.signKey);
      if (e1 !== true) return "signKey " + e1;
      const e2 = eq(c.b64(dk.agreeKey), k.agreeKey);
      if (e2 !== true) return "agreeKey " + e2;
      return eq(await c.fingerprint(dk.signKey, dk.agreeKey), k.fingerprint);
    });
  }
  const byDevice = (device) => Object.values(keys).find((k) => k.device === device);

  await check("keys", "generated keys are non-extractable", async () => {
    const dk = await c.generateDeviceKeys();
    if (dk.signPrivate.extractable || dk.agreePrivate.extractable) return "private key extractable";
    if (dk.signKey.length !== 32 || dk.agreeKey.length !== 32) return "public keys not 32 bytes";
    try {
      await crypto.subtle.exportKey("pkcs8", dk.signPrivate);
      return "exported a private key";
    } catch {
      return true;
    }
  });

  for (const [i, s] of (v.safety || []).entries()) {
    await check("safety", "pair " + i, async () => {
      const side = (p) => ({ accountId: p.accountId, signKeys: p.signKeys.map(c.fromB64) });
      const got = await c.safetyNumber(side(s.a), side(s.b));
      const again = await c.safetyNumber(side(s.b), side(s.a));
      if (got !== again) return "not symmetric";
      for (const p of [s.a, s.b]) {
        if (p.digits) {
          const d = eq(await c.safetyDigits(p.accountId, p.signKeys.map(c.fromB64)), p.digits);
          if (d !== true) return p.accountId + " digits " + d;
        }
      }
      if (s.formatted) {
        const f = eq(c.formatSafetyNumber(got), s.formatted);
        if (f !== true) return "formatted " + f;
      }
      return eq(got, s.number);
    });
  }

  function fixedOf(f) {
    return {
      id: hexb(f.id), contentKey: hexb(f.contentKey), iv: hexb(f.iv), ephemeral: hexb(f.ephemeral),
      ivs: Object.fromEntries(Object.entries(f.ivs).map(([d, x]) => [d, hexb(x)])),
    };
  }
  const senderKey = async (account, device) => {
    const k = byDevice(device);
    return k && k.account === account ? k.dk.signKey : null;
  };
  async function openAs(name, env, thread, state) {
    const k = keys[name];
    return c.openEnvelope(env, { thread, device: k.device, agreePrivate: k.dk.agreePrivate, agreeKey: k.dk.agreeKey, senderKey, state });
  }

  for (const e of v.envelopes || []) {
    await check("envelope-seal", e.name, async () => {
      const s = keys[e.sender];
      const env = await c.sealEnvelope({
        thread: e.thread, seq: e.seq, sentAt: e.sentAt, plaintext: c.utf8(e.plaintext), fixed: fixedOf(e.fixed),
        sender: { account: s.account, device: s.device, signPrivate: s.dk.signPrivate },
        recipients: e.recipients.map((n) => ({ device: keys[n].device, agreeKey: keys[n].dk.agreeKey })),
      });
      if (e.signedData) {
        const d = eq(c.hex(c.envelopeSignedBytes(e.envelope)), e.signedData);
        if (d !== true) return "signed bytes " + d;
      }
      return sameJSON(env, e.envelope) ? true : "got " + JSON.stringify(env) + ", want " + JSON.stringify(e.envelope);
    });
    for (const r of e.recipients) {
      await check("envelope-open", e.name + " as " + r, async () => {
        const m = await openAs(r, e.envelope, e.thread, new c.ReceiverState());
        return eq(new TextDecoder().decode(m.plaintext), e.plaintext);
      });
    }
  }

  for (const r of v.rejections || []) {
    await check("envelope-refusal", r.name, async () => {
      const state = new c.ReceiverState();
      const got = [];
      for (const [i, env] of r.envelopes.entries()) {
        try {
          const m = await openAs(r.receiver, env, r.thread, state);
          const want = r.plaintexts && r.plaintexts[i];
          got.push(want === undefined || new TextDecoder().decode(m.plaintext) === want ? "ok" : "wrong plaintext");
        } catch (err) {
          if (!(err instanceof c.ConsultError)) throw err;
          if (err.message !== c.REFUSED_MESSAGE) return "refusal without the refusal message: " + err.message;
          got.push(err.code);
        }
      }
      const res = got.length === r.expect.length && got.every((g, i) => matches(g, r.expect[i])) ? true
        : "got " + got.join(",") + ", want " + r.expect.join(",");
      if (res === true && r.kind !== "accepted") refused[r.kind] = (refused[r.kind] || 0) + 1;
      return res;
    });
  }

  // The receiver state survives a round trip through its snapshot (what store.js keeps).
  await check("envelope-refusal", "replay after reload", async () => {
    const e = (v.envelopes || [])[0];
    if (!e) return true;
    const state = new c.ReceiverState();
    await openAs(e.recipients[0], e.envelope, e.thread, state);
    const reloaded = new c.ReceiverState(JSON.parse(JSON.stringify(state.snapshot())));
    try {
      await openAs(e.recipients[0], e.envelope, e.thread, reloaded);
      return "replay accepted after reload";
    } catch (err) {
      if (err.code === "replayed") refused.replayed = (refused.replayed || 0) + 1;
      return eq(err.code, "replayed");
    }
  });

  // Every single-field change of a valid envelope is refused, and nothing else than a ConsultError
  // escapes (a small mutation fuzz of the parser and the checks).
  await check("envelope-refusal", "mutations", async () => {
    const e = (v.envelopes || [])[0];
    if (!e) return true;
    const base = e.envelope;
    const bad = [];
    const values = [null, 0, -1, 1.5, 2 ** 53, "", "x", "AAAA", [], {}, true, "\u0000"];
    const paths = [["v"], ["thread"], ["id"], ["sender"], ["sender", "account"], ["sender", "device"], ["seq"], ["sentAt"], ["epk"],
      ["recipients"], ["recipients", 0], ["recipients", 0, "device"], ["recipients", 0, "iv"], ["recipients", 0, "wrapped"], ["iv"], ["ciphertext"], ["sig"]];
    for (const p of paths) {
      for (const val of values) {
        const env = structuredClone(base);
        let o = env;
        for (const k of p.slice(0, -1)) o = o[k];
        if (JSON.stringify(o[p[p.length - 1]]) === JSON.stringify(val)) continue;
        o[p[p.length - 1]] = val;
        try {
          await openAs(e.recipients[0], env, e.thread, new c.ReceiverState());
          bad.push(p.join(".") + "=" + JSON.stringify(val) + " accepted");
        } catch (err) {
          if (!(err instanceof c.ConsultError)) bad.push(p.join(".") + "=" + JSON.stringify(val) + " threw " + err);
        }
      }
    }
    if (!bad.length) refused.altered = (refused.altered || 0) + 1;
    return bad.length ? bad.slice(0, 5).join("; ") : true;
  });

  for (const [i, f] of (v.files || []).entries()) {
    await check("file", "file " + i, async () => {
      const pt = hexb(f.plaintext);
      const enc = await c.encryptFile(pt, { key: c.fromB64(f.key), iv: c.fromB64(f.iv) });
      let r = eq(c.b64(enc.ciphertext), f.ciphertext);
      if (r !== true) return "ciphertext " + r;
      r = eq(enc.sha256, f.sha256);
      if (r !== true) return "sha256 " + r;
      const back = await c.decryptFile(c.fromB64(f.ciphertext), f);
      r = eq(c.hex(back), f.plaintext);
      if (r !== true) return r;
      const altered = c.fromB64(f.ciphertext);
      altered[0] ^= 1;
      try {
        await c.decryptFile(altered, f);
        return "altered attachment opened";
      } catch (err) {
        return eq(err.code, "undecryptable");
      }
    });
  }

  for (const [i, d] of (v.dtls || []).entries()) {
    await check("dtls", "description " + i, async () => {
      const s = keys[d.signer];
      const payload = await c.signDescription({ kind: d.kind, sdp: d.sdp, visitId: d.visitId, from: d.from, to: d.to,
        signPrivate: s.dk.signPrivate, fixed: { nonce: hexb(d.nonce) } });
      let r = eq(payload.fingerprint, d.fingerprint);
      if (r !== true) return r;
      r = eq(payload.sig, d.sig);
      if (r !== true) return "sig " + r;
      if (d.signedData) {
        r = eq(c.hex(c.descriptionSignedBytes(d.visitId, d.from, d.to, hexb(d.nonce), d.fingerprint)), d.signedData);
        if (r !== true) return "signed bytes " + r;
      }
      const opts = { visitId: d.visitId, from: d.from, to: d.to, me: d.to, signKey: s.dk.signKey, seenNonces: new Set() };
      await c.verifyDescription(payload, opts);
      const expectRefused = async (name, p, o) => {
        try {
          await c.verifyDescription(p, o);
          return name + " accepted";
        } catch (err) {
          return err instanceof c.ConsultError ? true : name + " threw " + err;
        }
      };
      // A relay's certificate: the first hex digit of the fingerprint changed, in the SDP and the field.
      const at = payload.fingerprint.indexOf(" ") + 1;
      const other = payload.fingerprint.slice(0, at) + (payload.fingerprint[at] === "0" ? "1" : "0") + payload.fingerprint.slice(at + 1);
      const rewritten = { ...payload, sdp: payload.sdp.split(payload.fingerprint).join(other), fingerprint: other };
      for (const [name, p, o] of [
        ["replayed nonce", payload, opts],
        ["rewritten fingerprint", rewritten, { ...opts, seenNonces: new Set() }],
        ["sdp rewritten only", { ...payload, sdp: rewritten.sdp }, { ...opts, seenNonces: new Set() }],
        ["other visit", payload, { ...opts, visitId: "visit-2", seenNonces: new Set() }],
        ["not for me", payload, { ...opts, me: "someone-else", seenNonces: new Set() }],
        ["other signer", payload, { ...opts, signKey: keys[Object.keys(keys).find((n) => n !== d.signer)].dk.signKey, seenNonces: new Set() }],
      ]) {
        r = await expectRefused(name, p, o);
        if (r !== true) return r;
      }
      return true;
    });
  }

  for (const x of v.sdp || []) {
    await check("sdp", x.name, async () => {
      let got = "";
      try {
        got = c.sdpFingerprint(x.sdp);
      } catch (err) {
        if (!(err instanceof c.ConsultError)) throw err;
      }
      return eq(got, x.fingerprint);
    });
  }

  if (v.log) {
    const L = v.log;
    await check("log", "checkpoint", async () => {
      const t = await c.verifyCheckpoint(L.checkpoint, L.origin, L.verifierKey);
      const r = eq(c.b64std(t.root), L.root);
      return r === true ? eq(Number(t.size), L.size) : r;
    });
    for (const [i, l] of (L.leaves || []).entries()) {
      await check("log", "leaf " + i, async () => {
        const r = eq(c.hex(c.canonicalEntry(l.entry)), l.canonical);
        return r === true ? eq(c.hex(await c.leafHash(l.entry)), l.leaf) : "canonical " + r;
      });
    }
    for (const x of L.cases || []) {
      await check("log", "case " + x.name, async () => {
        let got = "ok";
        try {
          await c.verifyDevice(x.device, x.owner, x.checkpoint, L.origin, L.verifierKey);
        } catch (err) {
          if (!(err instanceof c.ConsultError)) throw err;
          got = err.code;
        }
        if (matches(got, x.want) && x.want !== "ok" && /swap/i.test(x.name)) refused.swapped = (refused.swapped || 0) + 1;
        return matches(got, x.want) ? true : "got " + got + ", want " + x.want;
      });
    }
    const otherKey = (x) => Object.values(keys).find((k) => k.signKey !== x.signKey && k.agreeKey !== x.agreeKey);
    for (const d of L.devices || []) {
      await check("log", "device " + d.device.deviceId, async () => {
        let r;
        if (d.canonical) {
          r = eq(c.hex(c.canonicalEntry(d.device.entry)), d.canonical);
          if (r !== true) return "canonical " + r;
          r = eq(c.hex(await c.leafHash(d.device.entry)), d.leaf);
          if (r !== true) return "leaf " + r;
        }
        const got = await c.verifyDevice(d.device, d.owner, L.checkpoint, L.origin, L.verifierKey);
        return eq(c.b64(got.signKey) + " " + c.b64(got.agreeKey), d.device.signKey + " " + d.device.agreeKey);
      });
      const refusals = [
        ["swapped signKey", (x) => { x.signKey = otherKey(x).signKey; }, "entry-mismatch"],
        ["swapped agreeKey with matching reason", (x) => { x.agreeKey = otherKey(x).agreeKey; x.entry.reason = c.keyReason(c.fromB64(x.signKey), c.fromB64(x.agreeKey)); }, "not-in-log"],
        ["other owner", (x, o) => o.push("acct-mallory"), "entry-mismatch"],
        ["other device id", (x) => { x.deviceId = "dev-rogue"; }, "entry-mismatch"],
        ["removal entry", (x) => { x.entry.action = "device.key-remove"; }, "entry-mismatch"],
        ["forged proof", (x) => { if (x.proof.length) { const p = c.fromB64(x.proof[0]); p[0] ^= 1; x.proof[0] = c.b64(p); } else x.proof.push(c.b64(new Uint8Array(32))); }, "not-in-log"],
        ["other seq", (x) => { x.entry.seq = String(Number(x.entry.seq) + 1); }, "not-in-log"],
        ["checkpoint by another key", (x, o, cp) => cp.push(L.foreignKeyCheckpoint), "checkpoint"],
        ["checkpoint of another log", (x, o, cp) => cp.push(L.foreignOriginCheckpoint), "checkpoint"],
        ["checkpoint altered", (x, o, cp) => cp.push(L.checkpoint.replace(/\n\d+\n/, (m) => "\n" + (Number(m.trim()) + 1) + "\n")), "checkpoint"],
        ["unsigned checkpoint", (x, o, cp) => cp.push(L.checkpoint.slice(0, L.checkpoint.indexOf("\n\n") + 2)), "checkpoint"],
      ];
      for (const [name, mutate, code] of refusals) {
        await check("log", "device " + d.device.deviceId + " refused: " + name, async () => {
          const x = structuredClone(d.device);
          const owner = [];
          const cp = [];
          mutate(x, owner, cp);
          if (cp.length && cp[0] === undefined) return true; // the vector file has no such checkpoint
          try {
            await c.verifyDevice(x, owner[0] || d.owner, cp[0] || L.checkpoint, L.origin, L.verifierKey);
            return "accepted";
          } catch (err) {
            if (!(err instanceof c.ConsultError)) throw err;
            if (name === "swapped signKey" || name === "swapped agreeKey with matching reason") refused.swapped = (refused.swapped || 0) + 1;
            return eq(err.code, code);
          }
        });
      }
    }
    // Every one-character change of the signed checkpoint is refused, with a ConsultError only.
    await check("log", "checkpoint mutations", async () => {
      const bad = [];
      const cp = L.checkpoint;
      for (let i = 0; i < cp.length; i++) {
        for (const ch of ["A", "\n", "0", " ", "+"]) {
          if (cp[i] === ch) continue;
          const m = cp.slice(0, i) + ch + cp.slice(i + 1);
          try {
            await c.verifyCheckpoint(m, L.origin, L.verifierKey);
            bad.push(i + "=" + JSON.stringify(ch) + " accepted");
          } catch (err) {
            if (!(err instanceof c.ConsultError)) bad.push(i + "=" + JSON.stringify(ch) + " threw " + err);
          }
        }
      }
      return bad.length ? bad.slice(0, 5).join("; ") : true;
    });
    await check("log", "verifier key parse", async () => {
      const vk = await c.parseVerifierKey(L.verifierKey);
      for (const bad of [L.verifierKey.replace(/\+[0-9a-f]{8}\+/, "+00000000+"), L.verifierKey + "+x", "", "name+1234+AQ=="]) {
        try {
          await c.parseVerifierKey(bad);
          return "accepted " + bad;
        } catch (err) {
          if (!(err instanceof c.ConsultError)) throw err;
        }
      }
      if (L.foreignVerifierKey) await c.parseVerifierKey(L.foreignVerifierKey); // its base64 holds "+"
      return eq(vk.pub.length, 32);
    });
  }

  return { results, refused };
}
