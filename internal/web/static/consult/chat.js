// A thread's messages (a visit's chat, or a patient's secure messaging with their care team),
// encrypted on this device for every device of every member and signed by it (docs/e2ee.md
// section 3), and the safety number with each other member (section 2). A message is shown only
// if it opens: signed by its sender device's verified key, for this thread, with an entry for
// this device, both layers intact, and newer than the last one accepted from that device;
// anything else is shown as refused. Sending waits while a verified contact's keys have changed
// and the person has not compared the new safety number.
import * as keys from "./keys-adapter.js";
import { APIError, getBytes, getJSON, path, postBytes, postJSON } from "./api.js";

export const maxAttachment = 10 * 1024 * 1024;

// recordTypes are the attachment types a record's documents take (PDF and images).
const recordTypes = ["application/pdf", "image/png", "image/jpeg", "image/webp"];

export const refusedWords = "This message was changed, repeated or sent out of order, so it is not shown.";
const olderWords = "This message was sent before you used this device here, so it cannot be opened on it. Read it on the device you used then.";

// size in words ("2.4 MB").
export function sizeWords(n) {
  if (n < 1024) return n + " bytes";
  if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
  return (n / (1024 * 1024)).toFixed(1) + " MB";
}

const when = (iso) => {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return "";
  return t.toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
};

export class Chat {
  // root holds #safety and #chat; dev is this device; people the verified directory.
  constructor({ root, thread, dev, people, keysURL, fileInto, fileDocument }) {
    this.root = root;
    this.fileDocument = fileDocument; // (bytes, attachment) => Promise, for a record's documents
    this.keysURL = keysURL;
    this.thread = thread;
    this.dev = dev;
    this.people = people;
    this.fileInto = fileInto; // (message) => Promise, for a clinician's "File into the record"
    this.after = "";
    this.mySeq = 0;
    this.blocked = new Set(); // accounts whose changed safety number is not compared yet
    this.numbers = new Map(); // account → current safety number
    this.list = root.querySelector("#chat-messages");
    this.form = root.querySelector("#chat-form");
    this.errorEl = root.querySelector("#chat-error");
    this.sendButton = root.querySelector("#chat-send");
    this.busy = false;
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.send().catch((err) => this.error(err.message));
    });
    this.root.querySelector("#chat-file").addEventListener("change", (ev) => {
      const f = ev.target.files[0];
      if (f && f.size > maxAttachment) {
        this.error("This file is " + sizeWords(f.size) + ": files can be up to 10 MB. Send a smaller one, or a photo of the page instead.");
        ev.target.value = "";
      } else {
        this.error("");
      }
    });
  }

  get me() {
    return this.dev.account;
  }

  error(text) {
    this.errorEl.textContent = text;
    this.errorEl.hidden = !text;
  }

  personOf(account) {
    return this.people.people.find((p) => p.accountId === account);
  }

  deviceOf(device) {
    for (const p of this.people.people) {
      const d = p.devices.find((x) => x.deviceId === device);
      if (d) return { person: p, device: d };
    }
    return null;
  }

  async start() {
    this.state = await keys.receiverState(this.dev, this.thread);
    await this.renderSafety();
    await this.fetch();
    this.updateSend();
  }

  // setPeople takes a fresher directory (a device joined) and compares the numbers again.
  async setPeople(people) {
    this.people = people;
    await this.renderSafety();
  }

  // ---- safety numbers ----

  async renderSafety() {
    const list = this.root.querySelector("#safety-list");
    const warnings = this.root.querySelector("#key-warnings");
    const mine = this.personOf(this.me);
    const myKeys = mine ? mine.devices.map((d) => d.signKey) : [];
    const items = [];
    const warned = [];
    this.blocked.clear();
    for (const p of this.people.people) {
      if (p.accountId === this.me || p.devices.length === 0) continue;
      const number = await keys.safetyNumber(this.me, myKeys, p.accountId, p.devices.map((d) => d.signKey));
      this.numbers.set(p.accountId, number);
      const kept = await keys.comparedNumber(this.me, p.accountId);
      const li = document.createElement("li");
      li.dataset.account = p.accountId;
      const name = document.createElement("strong");
      name.textContent = p.displayName;
      const digits = document.createElement("p");
      digits.className = "safety-number";
      digits.textContent = keys.groups(number);
      const status = document.createElement("p");
      status.className = "meta safety-status";
      status.tabIndex = -1; // "It matches" moves the focus here once it is gone
      li.append(name, digits, status);
      if (kept === number) {
        li.dataset.verified = "true";
        status.textContent = "Verified: you compared this number with " + p.displayName + ".";
      } else {
        if (kept) {
          this.blocked.add(p.accountId);
          warned.push(p.displayName);
          status.textContent = "Changed since you last compared it. Compare it again.";
        } else {
          status.textContent = "Not compared yet.";
        }
        const b = document.createElement("button");
        b.type = "button";
        b.className = "secondary";
        b.textContent = "It matches";
        b.setAttribute("aria-label", "It matches: the safety number with " + p.displayName + " is the same on their screen");
        b.addEventListener("click", () => {
          keys.markCompared(this.me, p.accountId, number).then(() => this.renderSafety()).then(() => {
            this.updateSend();
            this.root.querySelector(`#safety-list li[data-account="${CSS.escape(p.accountId)}"] .safety-status`)?.focus?.();
          });
        });
        li.append(b);
      }
      items.push(li);
    }
    warnings.replaceChildren();
    for (const r of this.people.refused || []) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = "The keys of " + (r.displayName || "a participant") + " could not be checked, so nothing is sent to them or shown from them. Ask them to reload their page; if this stays, tell the clinic.";
      warnings.append(p);
    }
    if (warned.some(Boolean)) {
      const p = document.createElement("p");
      p.className = "error";
      p.dataset.kind = "changed";
      p.textContent = "The safety number with " + warned.filter(Boolean).join(" and ") + " has changed. This happens when someone uses a new phone or computer, but it can also mean someone is trying to listen in. Nothing can be sent until you compare the new number with them and press \"It matches\".";
      warnings.append(p);
    }
    // A message is locked for the devices that exist when it is sent: with nobody else's device
    // in the thread, it could be opened by no one else, ever.
    this.alone = items.length === 0;
    const nobody = this.thread.startsWith("patient.")
      ? "No one in the care team has opened secure messages on a device yet, so nobody else could read a message sent now. Try again later, or phone the clinic."
      : "Nobody else has joined yet. You can send messages once they have.";
    list.replaceChildren(...(items.length ? items : [Object.assign(document.createElement("li"), { className: "meta", id: "safety-nobody", textContent: nobody })]));
    this.updateSend();
  }

  updateSend() {
    this.sendButton.disabled = this.busy || this.alone || this.blocked.size > 0;
  }

  // ---- receiving ----

  async fetch() {
    const url = path("threads", this.thread, "messages") + (this.after ? "?after=" + encodeURIComponent(this.after) : "");
    const { messages = [] } = await getJSON(url);
    for (const env of messages) {
      // ?after= names a message by its envelope id (the id POST answers and the socket names).
      if (env && typeof env.id === "string") this.after = env.id;
      await this.accept(env);
    }
  }

  async accept(env) {
    const li = document.createElement("li");
    li.className = "message";
    const fromMe = env?.sender?.device === this.dev.id;
    if (fromMe && Number.isInteger(env.seq)) this.mySeq = Math.max(this.mySeq, env.seq);
    let opened = null;
    let older = false;
    try {
      if (!this.deviceOf(env?.sender?.device) && typeof env?.sender?.device === "string") {
        // A device that joined after the page opened: read the directory again, once.
        await this.setPeople(await keys.directory(this.thread, this.me));
      }
      const senderKey = (account, device) => {
        const found = this.deviceOf(device);
        return found && found.person.accountId === account ? found.device.signKey : null;
      };
      const got = await keys.open(this.dev, env, senderKey, this.thread, this.state);
      const person = this.deviceOf(env.sender.device).person;
      opened = { env, plain: got.message && typeof got.message === "object" ? got.message : {}, person };
    } catch (err) {
      older = err && err.code === "not-a-recipient";
      li.classList.add(older ? "older" : "refused");
      li.dataset.state = older ? "older" : "refused";
      const p = document.createElement("p");
      p.textContent = older ? olderWords : refusedWords;
      li.append(p);
      this.list.append(li);
      return;
    }
    li.dataset.state = "open";
    li.dataset.id = opened.env.id;
    if (fromMe) li.classList.add("mine");
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = (fromMe ? "You" : opened.person.displayName) + " · " + when(opened.env.sentAt);
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = typeof opened.plain.text === "string" ? opened.plain.text : "";
    li.append(meta, body);
    for (const att of Array.isArray(opened.plain.attachments) ? opened.plain.attachments : []) li.append(this.attachment(att));
    if (this.fileInto && body.textContent) li.append(this.fileButton(opened));
    this.list.append(li);
  }

  attachment(att) {
    const wrap = document.createElement("p");
    wrap.className = "attachment";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.textContent = "Open " + String(att.name || "the attachment") + " (" + sizeWords(Number(att.size) || 0) + ")";
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const ct = await getBytes(path("threads", this.thread, "attachments", att.id));
        const bytes = await keys.openFile(ct, att);
        const a = document.createElement("a");
        a.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
        a.download = String(att.name || "attachment");
        a.className = "attachment-file";
        a.textContent = "Save " + a.download;
        b.replaceWith(a);
        if (this.fileDocument && recordTypes.includes(att.type)) wrap.append(" ", this.fileDocButton(bytes, att));
        a.focus();
      } catch (err) {
        b.disabled = false;
        b.textContent = err instanceof APIError ? err.message : "This attachment was changed on the way, so it is not shown.";
      }
    });
    wrap.append(b);
    return wrap;
  }

  // fileDocButton adds an opened attachment to the record's documents (document.upload), where
  // it is checked, cleaned of metadata and sealed like any upload.
  fileDocButton(bytes, att) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "File " + String(att.name || "the attachment") + " into the record";
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await this.fileDocument(bytes, att);
        const done = document.createElement("span");
        done.className = "ok";
        done.setAttribute("role", "status");
        done.textContent = "Filed into the record's documents.";
        b.replaceWith(done);
      } catch (err) {
        b.disabled = false;
        b.textContent = err.message;
      }
    });
    return b;
  }

  fileButton(opened) {
    const box = document.createElement("div");
    box.className = "file-into";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "File into the record";
    box.append(b);
    b.addEventListener("click", () => {
      const confirmBox = document.createElement("div");
      confirmBox.className = "notice";
      const p = document.createElement("p");
      p.textContent = "Add this message's text to the patient's record as a note? The note is signed with your name and recorded like any note; it cannot be removed, only added to.";
      const yes = document.createElement("button");
      yes.type = "button";
      yes.textContent = "Add to the record";
      const no = document.createElement("button");
      no.type = "button";
      no.className = "secondary";
      no.textContent = "Cancel";
      confirmBox.append(p, yes, no);
      b.replaceWith(confirmBox);
      yes.focus();
      no.addEventListener("click", () => {
        confirmBox.replaceWith(b);
        b.focus();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        try {
          await this.fileInto(opened);
          const done = document.createElement("p");
          done.className = "ok";
          done.setAttribute("role", "status");
          done.textContent = "Filed into the record as a note.";
          confirmBox.replaceWith(done);
        } catch (err) {
          yes.disabled = false;
          p.textContent = err.message;
        }
      });
    });
    return box;
  }

  // ---- sending ----

  recipients() {
    const out = [];
    for (const p of this.people.people) for (const d of p.devices) out.push({ device: d.deviceId, agreeKey: d.agreeKey });
    return out;
  }

  async send() {
    if (this.blocked.size > 0 || this.busy || this.alone) return;
    const textEl = this.root.querySelector("#chat-text");
    const fileEl = this.root.querySelector("#chat-file");
    const text = textEl.value.trim();
    const file = fileEl.files[0];
    if (!text && !file) {
      this.error("Write a message or choose a file first.");
      textEl.focus();
      return;
    }
    if (file && file.size > maxAttachment) {
      this.error("This file is " + sizeWords(file.size) + ": files can be up to 10 MB. Send a smaller one.");
      return;
    }
    this.busy = true;
    this.updateSend();
    this.error("");
    try {
      const attachments = [];
      if (file) {
        const sealed = await keys.sealFile(new Uint8Array(await file.arrayBuffer()));
        const up = await postBytes(path("threads", this.thread, "attachments"), sealed.ciphertext);
        attachments.push({ id: up.id, name: file.name, type: file.type || "application/octet-stream", size: file.size, key: sealed.key, iv: sealed.iv, sha256: sealed.sha256 });
      }
      const plaintext = { text, attachments };
      for (let attempt = 0; ; attempt++) {
        const env = await keys.seal(this.dev, this.thread, this.mySeq + 1, plaintext, this.recipients());
        try {
          await postJSON(path("threads", this.thread, "messages"), env);
          this.mySeq = env.seq;
          break;
        } catch (err) {
          // A number already used (another tab of this device sent one): catch up, try once more.
          if (err.status !== 409 || attempt > 0) throw err;
          await this.fetch();
        }
      }
      textEl.value = "";
      fileEl.value = "";
      await this.fetch();
    } finally {
      this.busy = false;
      this.updateSend();
    }
  }
}
