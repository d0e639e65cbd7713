// The waiting room's pre-call check: the camera (a preview), the microphone (a level meter) and
// the connection (Haven's relay credentials, then two connections inside this page that must
// reach each other through the relay, or at least directly). Each failure says, in people's
// words, what to do. Nothing leaves the device: the two test connections talk to each other.
import { getJSON, path } from "./api.js";

// fixes are what a person reads for each way a camera or microphone can fail.
const fixes = {
  camera: {
    NotAllowedError: "Haven is not allowed to use your camera. Allow it for this site: tap the camera icon in the address bar (on a phone: Settings, then your browser, then Camera), then press \"Check again\".",
    NotFoundError: "No camera was found. Connect one, or join from a phone or a computer that has one.",
    NotReadableError: "Your camera is being used by another app (another video call, perhaps). Close that app, then press \"Check again\".",
    other: "Your camera could not be started. Restart your browser, then press \"Check again\".",
  },
  microphone: {
    NotAllowedError: "Haven is not allowed to use your microphone. Allow it for this site: tap the camera icon in the address bar (on a phone: Settings, then your browser, then Microphone), then press \"Check again\".",
    NotFoundError: "No microphone was found. Connect a headset or use a phone, then press \"Check again\".",
    NotReadableError: "Your microphone is being used by another app. Close that app, then press \"Check again\".",
    other: "Your microphone could not be started. Restart your browser, then press \"Check again\".",
  },
};

const kindOf = (err) => {
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "NotAllowedError";
    case "NotFoundError":
    case "OverconstrainedError":
      return "NotFoundError";
    case "NotReadableError":
    case "AbortError":
      return "NotReadableError";
  }
  return "other";
};

export class Precall {
  constructor(el, deviceId) {
    this.el = el;
    this.visitId = el.dataset.visit;
    this.deviceId = deviceId; // this device's id once registered, for the relay's credentials
    this.streams = [];
    this.el.querySelector("#precall-start").addEventListener("click", () => this.run());
    this.el.querySelector("#precall-again").addEventListener("click", () => this.run());
  }

  mark(id, state, words, fix) {
    const li = this.el.querySelector("#" + id);
    li.dataset.state = state;
    li.querySelector(".check-words").textContent = words;
    li.querySelector(".check-fix").textContent = fix || "";
  }

  async run() {
    this.stop();
    this.el.querySelector("#precall-results").hidden = false;
    this.el.querySelector("#precall-start").hidden = true;
    for (const id of ["check-camera", "check-microphone", "check-connection"]) this.mark(id, "pending", "checking…");
    await this.camera();
    await this.microphone();
    await this.connection();
    this.el.dispatchEvent(new CustomEvent("haven:precall-done"));
  }

  async camera() {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video: true });
      this.streams.push(s);
      this.el.querySelector("#precall-video").srcObject = s;
      this.mark("check-camera", "ok", "working. You should see yourself.");
    } catch (err) {
      this.mark("check-camera", "failed", "not working.", fixes.camera[kindOf(err)]);
    }
  }

  async microphone() {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: true });
      this.streams.push(s);
      const ctx = new AudioContext();
      this.audio = ctx;
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 512;
      ctx.createMediaStreamSource(s).connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      const meter = this.el.querySelector("#mic-level");
      const tick = () => {
        if (this.audio !== ctx) return;
        analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        meter.value = Math.min(1, Math.sqrt(sum / buf.length) * 4);
        this.raf = requestAnimationFrame(tick);
      };
      tick();
      this.mark("check-microphone", "ok", "working. Say something: the bar below moves.");
    } catch (err) {
      this.mark("check-microphone", "failed", "not working.", fixes.microphone[kindOf(err)]);
    }
  }

  // connection asks for the relay's credentials, then connects two test peers in this page
  // through the relay only; if that fails, directly. Either proves the browser can make calls.
  async connection() {
    if (!navigator.onLine) {
      this.mark("check-connection", "failed", "you are offline.", "Connect to Wi-Fi or mobile data, then press \"Check again\".");
      return;
    }
    let iceServers = [];
    if (this.deviceId) {
      try {
        iceServers = (await getJSON(path("visits", this.visitId, "turn") + "?device=" + encodeURIComponent(this.deviceId))).iceServers || [];
      } catch (err) {
        this.mark("check-connection", "failed", "Haven could not be reached.", err.message);
        return;
      }
    }
    if (iceServers.length && (await loopback({ iceServers, iceTransportPolicy: "relay" }))) {
      this.mark("check-connection", "ok", "working.");
      return;
    }
    if (await loopback({ iceServers })) {
      this.mark("check-connection", "ok", iceServers.length
        ? "working, though your network blocks Haven's video relay. If the call does not connect, try another network (mobile data instead of Wi-Fi, or the other way round)."
        : "working.");
      return;
    }
    this.mark("check-connection", "failed", "video cannot get through this network.",
      "Your network (often a workplace or hotel Wi-Fi) blocks video calls. Try mobile data or another Wi-Fi, or ask the clinic for a phone call instead.");
  }

  // stop releases the camera and microphone (before the call takes them).
  stop() {
    cancelAnimationFrame(this.raf);
    if (this.audio) this.audio.close().catch(() => {});
    this.audio = null;
    for (const s of this.streams.splice(0)) for (const t of s.getTracks()) t.stop();
  }
}

// loopback connects two peer connections in this page with config and reports whether they
// reached each other within a few seconds. Only a data channel: no media leaves the page.
export async function loopback(config, timeout = 8000) {
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  try {
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    const opened = new Promise((resolve) => {
      b.ondatachannel = (e) => {
        e.channel.onmessage = () => resolve(true);
      };
    });
    const ch = a.createDataChannel("check");
    ch.onopen = () => ch.send("ping");
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    return await Promise.race([opened, new Promise((resolve) => setTimeout(() => resolve(false), timeout))]);
  } catch {
    return false;
  } finally {
    a.close();
    b.close();
  }
}
