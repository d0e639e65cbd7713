// The visit's video call: WebRTC between the participants' browsers as a full mesh (up to four),
// DTLS-SRTP end to end, so no server decrypts a frame (docs/e2ee.md section 4). Of each pair, the
// device whose id sorts first makes the offer; every offer and answer carries the sender's DTLS
// fingerprint, a fresh nonce and the sender device's signature, and a description is used only
// if the SDP's fingerprint is the signed one, the signature verifies with the sender's key from
// the verified directory, the nonce is new and it was signed for this device. Otherwise that
// peer's connection is stopped and the page says so, by name, with what to do.
import * as keys from "./keys-adapter.js";
import { getJSON, path } from "./api.js";

const maxPeers = 3; // four people: this device and three others

// qualityOf turns loss (0..1) and round-trip time (seconds) into words.
export function qualityOf(loss, rtt) {
  if (loss === undefined && rtt === undefined) return "unknown";
  if ((loss ?? 0) < 0.02 && (rtt ?? 0) < 0.3) return "good";
  if ((loss ?? 0) < 0.08 && (rtt ?? 0) < 0.6) return "fair";
  return "poor";
}

const qualityWords = {
  unknown: "Connection quality: checking",
  good: "Connection quality: good",
  fair: "Connection quality: fair. The picture may freeze now and then.",
  poor: "Connection quality: poor. If the picture freezes, turn your camera off to keep the sound, or move closer to your Wi-Fi.",
};

export class Call {
  // el is the #consult section; signal the visit's socket (api.js Signal); dev this device;
  // people the verified directory (keys.directory).
  constructor({ el, visitId, dev, people }) {
    this.el = el;
    this.visitId = visitId;
    this.dev = dev;
    this.people = people;
    this.peers = new Map(); // device id → peer
    this.nonces = new Set(); // nonces accepted in this call
    this.refused = new Set(); // devices whose description failed its checks
    this.local = null;
    this.camera = null; // the camera track while the screen is shared
    this.sharing = false;
    this.statusEl = el.querySelector("#call-status");
    this.warnEl = el.querySelector("#call-warnings");
    this.qualityEl = el.querySelector("#call-quality");
    this.videos = el.querySelector("#videos");
    this.quality = "unknown";
    // Signalling messages are handled one at a time, in the order they came: an ICE candidate
    // must not overtake the offer it belongs to while that offer is being verified.
    this.queue = Promise.resolve();
    this.early = new Map(); // device → ICE candidates that came before its offer
    this.onSignal = (ev) => {
      this.queue = this.queue.then(() => this.handle(ev.type, ev.detail)).catch((err) => this.say(err.message));
    };
    this.onOnline = () => this.restartAll();
  }

  // attach listens to the visit's socket (opened once the camera and the relay are ready, so no
  // offer arrives before the call can answer it).
  attach(signal) {
    this.signal = signal;
    for (const t of ["welcome", "peer-joined", "peer-left", "signal", "bye"]) signal.addEventListener(t, this.onSignal);
    addEventListener("online", this.onOnline);
    navigator.connection?.addEventListener?.("change", this.onOnline);
  }

  say(text) {
    if (this.statusEl) this.statusEl.textContent = text;
  }

  warn(text) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = text;
    this.warnEl.append(p);
  }

  // nameOf is a device's owner's name from the directory, or "another participant".
  personOf(device) {
    for (const p of this.people.people) {
      if (p.devices.some((d) => d.deviceId === device)) return p;
    }
    return null;
  }

  nameOf(device) {
    return this.personOf(device)?.displayName || "another participant";
  }

  keyOf(device) {
    for (const p of this.people.people) {
      const d = p.devices.find((x) => x.deviceId === device);
      if (d) return d.signKey;
    }
    return null;
  }

  // start asks for the camera and microphone and the relay's credentials.
  async start() {
    this.say("Starting your camera and microphone…");
    this.local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    this.el.querySelector("#video-self").srcObject = this.local;
    // Without the relay's credentials the call still tries direct paths; the pre-call check
    // told the person if their network needs the relay.
    const turn = await getJSON(path("visits", this.visitId, "turn") + "?device=" + encodeURIComponent(this.dev.id)).catch(() => ({ iceServers: [], ttl: 60 }));
    this.iceServers = turn.iceServers || [];
    this.turnUntil = Date.now() + (turn.ttl || 600) * 1000;
    this.say("Waiting for the others to join…");
    this.statsTimer = setInterval(() => this.measure(), 2000);
    await this.fillDevices();
  }

  async refreshTurn() {
    if (Date.now() < this.turnUntil - 60000) return;
    const turn = await getJSON(path("visits", this.visitId, "turn") + "?device=" + encodeURIComponent(this.dev.id));
    this.iceServers = turn.iceServers || [];
    this.turnUntil = Date.now() + (turn.ttl || 600) * 1000;
    for (const p of this.peers.values()) p.pc.setConfiguration({ iceServers: this.iceServers });
  }

  async handle(type, msg) {
    switch (type) {
      case "welcome":
        // A new socket (the first, or after the network changed): the others saw this device
        // leave and come back, so every connection starts afresh.
        for (const d of [...this.peers.keys()]) this.drop(d, false);
        for (const p of msg.peers || []) await this.meet(p);
        break;
      case "peer-joined":
        await this.meet(msg.peer);
        break;
      case "peer-left":
        this.drop(msg.peer.device, false);
        break;
      case "signal":
        await this.receive(msg.from, msg.payload);
        break;
      case "bye":
        // The server says why, in people's words: the visit ended, the person signed out, or
        // Haven is restarting (the call then reconnects by itself).
        this.say(sentence(typeof msg.reason === "string" && msg.reason ? msg.reason : "Haven is restarting; the call reconnects by itself"));
        break;
    }
  }

  // refreshPeople reads the directory again: a device that joined after the page opened.
  async refreshPeople(device) {
    if (this.keyOf(device)) return;
    const fresh = await keys.directory(this.el.dataset.thread, this.dev.account);
    this.people = fresh;
    this.el.dispatchEvent(new CustomEvent("haven:people", { detail: fresh }));
  }

  async meet(peer) {
    if (!peer || peer.device === this.dev.id || this.peers.has(peer.device) || this.refused.has(peer.device)) return;
    if (this.peers.size >= maxPeers) return;
    await this.refreshPeople(peer.device);
    if (!this.keyOf(peer.device)) {
      this.refuse(peer.device, "keys");
      return;
    }
    const p = this.connect(peer);
    if (this.dev.id < peer.device) await this.offer(p, false);
  }

  connect(peer) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const p = { device: peer.device, account: peer.account, pc, pending: this.early.get(peer.device) || [], remote: false, offerer: this.dev.id < peer.device, timer: 0 };
    this.early.delete(peer.device);
    this.peers.set(peer.device, p);
    for (const track of this.local.getTracks()) {
      // Someone who joins while the screen is shared sees the screen, as the others do.
      pc.addTrack(track.kind === "video" && this.sharing ? this.screen : track, this.local);
    }
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.signal.send(peer.device, { kind: "ice", candidate: ev.candidate.toJSON() });
    };
    pc.ontrack = (ev) => this.show(p, ev.streams[0] || new MediaStream([ev.track]));
    pc.onconnectionstatechange = () => this.stateChanged(p);
    return p;
  }

  show(p, stream) {
    let tile = this.videos.querySelector(`[data-device="${CSS.escape(p.device)}"]`);
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = "tile";
      tile.dataset.device = p.device;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      const name = this.nameOf(p.device);
      video.setAttribute("aria-label", name + "'s camera");
      const cap = document.createElement("figcaption");
      cap.textContent = name;
      tile.append(video, cap);
      this.videos.append(tile);
    }
    const video = tile.querySelector("video");
    if (video.srcObject !== stream) video.srcObject = stream;
  }

  stateChanged(p) {
    const s = p.pc.connectionState;
    if (s === "connected") {
      clearTimeout(p.timer);
      p.timer = 0;
      this.say(this.connectedWords());
    } else if (s === "disconnected") {
      // Often a moment's loss on a moving phone: give it a few seconds before restarting.
      clearTimeout(p.timer);
      p.timer = setTimeout(() => this.restart(p), 3000);
      this.say("The connection to " + this.nameOf(p.device) + " was lost. Reconnecting…");
    } else if (s === "failed") {
      this.restart(p);
    }
  }

  connectedWords() {
    const names = [...this.peers.values()].filter((p) => p.pc.connectionState === "connected").map((p) => this.nameOf(p.device));
    return names.length ? "In the call with " + names.join(", ") + "." : "Waiting for the others to join…";
  }

  // offer sends a signed offer (an ICE restart after a network change when restart is set).
  async offer(p, restart) {
    if (restart) p.pc.restartIce();
    const desc = await p.pc.createOffer(restart ? { iceRestart: true } : {});
    await p.pc.setLocalDescription(desc);
    await this.sendDescription(p, "offer");
    // An answer that never comes is a call that did not start: say so instead of waiting.
    clearTimeout(p.answerTimer);
    p.answerTimer = setTimeout(() => {
      if (p.pc.signalingState === "have-local-offer" && this.peers.get(p.device) === p) {
        this.say("The connection to " + this.nameOf(p.device) + " is taking longer than usual…");
      }
    }, 15000);
  }

  async sendDescription(p, kind) {
    const payload = await keys.signDescription(this.dev, this.visitId, p.device, kind, p.pc.localDescription.sdp);
    this.signal.send(p.device, payload);
  }

  // verified checks a description from device (see the file's comment): the adapter throws
  // unless it is for this device, its fingerprint is the signed one, from's verified key signed
  // it and its nonce is new.
  async verified(from, payload) {
    const key = this.keyOf(from);
    if (!key) return false;
    try {
      await keys.verifyDescription(this.dev, this.visitId, from, key, payload, this.nonces, this.nameOf(from));
      return true;
    } catch {
      return false;
    }
  }

  async receive(from, payload) {
    if (!from || !payload || this.refused.has(from.device)) return;
    let p = this.peers.get(from.device);
    if (payload.kind === "ice") {
      if (!payload.candidate) return;
      if (!p) {
        const early = this.early.get(from.device) || [];
        if (early.length < 100) early.push(payload.candidate);
        this.early.set(from.device, early);
        return;
      }
      if (p.remote) await p.pc.addIceCandidate(payload.candidate).catch(() => {});
      else p.pending.push(payload.candidate);
      return;
    }
    if (payload.kind !== "offer" && payload.kind !== "answer") return;
    await this.refreshPeople(from.device);
    if (!(await this.verified(from.device, payload))) {
      this.refuse(from.device, "description");
      return;
    }
    if (payload.kind === "offer") {
      if (!p) {
        if (this.peers.size >= maxPeers) return;
        p = this.connect(from);
      }
      await p.pc.setRemoteDescription({ type: "offer", sdp: payload.sdp });
      await this.flush(p);
      await p.pc.setLocalDescription(await p.pc.createAnswer());
      await this.sendDescription(p, "answer");
    } else {
      if (!p || p.pc.signalingState !== "have-local-offer") return;
      clearTimeout(p.answerTimer);
      await p.pc.setRemoteDescription({ type: "answer", sdp: payload.sdp });
      await this.flush(p);
    }
  }

  async flush(p) {
    p.remote = true;
    for (const c of p.pending.splice(0)) await p.pc.addIceCandidate(c).catch(() => {});
  }

  // refuse stops the connection with device and tells the person why and what to do.
  refuse(device, why) {
    if (this.refused.has(device)) return;
    this.refused.add(device);
    this.drop(device, true);
    const name = this.nameOf(device);
    const what = why === "keys"
      ? "The keys of " + name + "'s device could not be checked, so the call with them was not started."
      : "The connection to " + name + " could not be verified, so the call was stopped.";
    this.warn(what + " Someone may have tampered with the connection. Do not share anything in this call for now. Leave the call and join again; if this message comes back, phone the clinic and tell them.");
    this.say(this.connectedWords());
  }

  drop(device, keepRefusal) {
    const p = this.peers.get(device);
    if (p) {
      clearTimeout(p.timer);
      clearTimeout(p.answerTimer);
      p.pc.close();
      this.peers.delete(device);
    }
    this.videos.querySelector(`[data-device="${CSS.escape(device)}"]`)?.remove();
    if (!keepRefusal) this.refused.delete(device);
    this.say(this.connectedWords());
  }

  // restart renews a failed connection's network path: the offerer restarts ICE and sends a
  // new signed offer; the other side answers it like any offer.
  async restart(p) {
    if (this.peers.get(p.device) !== p || p.pc.connectionState === "connected") return;
    if (!p.offerer) return; // the device that offered renews the path
    await this.refreshTurn().catch(() => {});
    await this.offer(p, true).catch((err) => this.say(err.message));
  }

  restartAll() {
    for (const p of this.peers.values()) if (p.pc.connectionState !== "connected" || !navigator.onLine) this.restart(p);
  }

  // ---- controls ----

  setMuted(muted) {
    for (const t of this.local.getAudioTracks()) t.enabled = !muted;
  }

  setCameraOff(off) {
    const track = this.sharing ? this.camera : this.local.getVideoTracks()[0];
    if (track) track.enabled = !off;
    if (!this.sharing) for (const t of this.local.getVideoTracks()) t.enabled = !off;
  }

  async replaceVideo(track) {
    for (const p of this.peers.values()) {
      const s = p.pc.getSenders().find((x) => x.track && x.track.kind === "video");
      if (s) await s.replaceTrack(track);
    }
  }

  async replaceAudio(track) {
    for (const p of this.peers.values()) {
      const s = p.pc.getSenders().find((x) => x.track && x.track.kind === "audio");
      if (s) await s.replaceTrack(track);
    }
  }

  // share sends the screen instead of the camera until stopped (by the button or the browser).
  async share(on) {
    if (on && !this.sharing) {
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = screen.getVideoTracks()[0];
      this.camera = this.local.getVideoTracks()[0];
      await this.replaceVideo(track);
      this.sharing = true;
      this.screen = track;
      track.addEventListener("ended", () => this.share(false).then(() => this.el.dispatchEvent(new CustomEvent("haven:share-ended"))));
    } else if (!on && this.sharing) {
      await this.replaceVideo(this.camera);
      this.screen.stop();
      this.sharing = false;
    }
  }

  // choose switches the camera or the microphone to the one with deviceId.
  async choose(kind, deviceId) {
    const constraints = kind === "video" ? { video: { deviceId: { exact: deviceId } } } : { audio: { deviceId: { exact: deviceId } } };
    const fresh = await navigator.mediaDevices.getUserMedia(constraints);
    const track = fresh.getTracks()[0];
    const old = kind === "video" ? this.local.getVideoTracks()[0] : this.local.getAudioTracks()[0];
    if (kind === "video" && !this.sharing) await this.replaceVideo(track);
    if (kind === "audio") await this.replaceAudio(track);
    if (old) {
      track.enabled = old.enabled;
      this.local.removeTrack(old);
      old.stop();
    }
    this.local.addTrack(track);
    if (kind === "video" && this.sharing) this.camera = track;
  }

  async fillDevices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    const fill = (sel, kind, current) => {
      if (!sel) return;
      sel.replaceChildren();
      let n = 0;
      for (const d of all.filter((x) => x.kind === kind)) {
        const o = document.createElement("option");
        o.value = d.deviceId;
        o.textContent = d.label || (kind === "videoinput" ? "Camera " : "Microphone ") + ++n;
        if (current && current.getSettings().deviceId === d.deviceId) o.selected = true;
        sel.append(o);
      }
    };
    fill(this.el.querySelector("#choose-camera"), "videoinput", this.local.getVideoTracks()[0]);
    fill(this.el.querySelector("#choose-microphone"), "audioinput", this.local.getAudioTracks()[0]);
  }

  // ---- quality and counters ----

  async peerStats(p) {
    const report = await p.pc.getStats();
    const s = { device: p.device, state: p.pc.connectionState, framesDecoded: 0, packetsLost: 0, packetsReceived: 0, rtt: undefined, relayed: false };
    let pair;
    report.forEach((r) => {
      if (r.type === "inbound-rtp") {
        if (r.kind === "video") s.framesDecoded += r.framesDecoded || 0;
        s.packetsLost += r.packetsLost || 0;
        s.packetsReceived += r.packetsReceived || 0;
      }
      if (r.type === "transport" && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
    });
    if (!pair) report.forEach((r) => { if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r; });
    if (pair) {
      s.rtt = pair.currentRoundTripTime;
      const local = report.get(pair.localCandidateId);
      s.relayed = !!local && local.candidateType === "relay";
    }
    return s;
  }

  async stats() {
    return Promise.all([...this.peers.values()].map((p) => this.peerStats(p)));
  }

  async measure() {
    const all = await this.stats().catch(() => []);
    let worst = "unknown";
    const rank = { unknown: 0, good: 1, fair: 2, poor: 3 };
    for (const s of all) {
      const prev = this.lastStats?.get(s.device);
      if (!prev || s.state !== "connected") continue;
      const lost = s.packetsLost - prev.packetsLost;
      const got = s.packetsReceived - prev.packetsReceived;
      const q = qualityOf(got + lost > 0 ? Math.max(lost, 0) / (got + lost) : 0, s.rtt);
      if (rank[q] > rank[worst]) worst = q;
    }
    this.lastStats = new Map(all.map((s) => [s.device, s]));
    if (worst !== this.quality) {
      this.quality = worst;
      this.qualityEl.dataset.quality = worst;
      this.qualityEl.textContent = qualityWords[worst];
    }
  }

  // hangUp ends this device's part of the call.
  hangUp() {
    clearInterval(this.statsTimer);
    for (const d of [...this.peers.keys()]) this.drop(d, false);
    for (const t of this.local?.getTracks() || []) t.stop();
    this.screen?.stop();
    for (const t of ["welcome", "peer-joined", "peer-left", "signal", "bye"]) this.signal?.removeEventListener(t, this.onSignal);
    removeEventListener("online", this.onOnline);
    navigator.connection?.removeEventListener?.("change", this.onOnline);
  }
}

// mediaError is what a person reads when the camera or microphone cannot be opened.
export function mediaError(err) {
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Haven is not allowed to use your camera or microphone. Allow them for this site (the camera icon in the address bar, or your phone's settings for this browser), then press \"Join the call again\".";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera or microphone was found. Connect one, or join from a phone or computer that has one.";
    case "NotReadableError":
    case "AbortError":
      return "Your camera or microphone is being used by another app (another video call, perhaps). Close that app, then press \"Join the call again\".";
  }
  return (err && err.message) || "The call could not start. Reload the page to try again.";
}

// sentence turns a reason the server gives ("the clinician ended the visit; the call is over")
// into a sentence to show.
export function sentence(text) {
  const t = text.trim();
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}
