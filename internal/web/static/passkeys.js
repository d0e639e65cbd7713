// Haven's passkey buttons. Pages work without this script; it only adds the passkey ceremonies,
// which need the browser's WebAuthn API. A button carries data-passkey ("sign-in", "verify" or
// "register") and optionally data-next, the page to open afterwards. A [data-passkey-section]
// is shown where WebAuthn is available; one also marked data-passkey-platform only where the
// device has its own authenticator (a phone's or computer's screen lock), so that a passkey is
// offered first where it is the easy way, and not where it would need a security key.
//
// A registration that gives the account its first factor answers with its recovery codes:
// recovery.js shows them, once, before the next page.
"use strict";

(function () {
  const endpoints = {
    "sign-in": ["/api/v1/auth/passkeys/sign-in/options", "/api/v1/auth/passkeys/sign-in", "get"],
    "verify": ["/api/v1/auth/passkeys/verify/options", "/api/v1/auth/passkeys/verify", "get"],
    "register": ["/api/v1/passkeys/options", "/api/v1/passkeys", "create"],
  };

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error(data.error || "the request failed");
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  function showError(button, message) {
    const box = document.getElementById("passkey-error");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
    button.disabled = false;
  }

  async function ceremony(button) {
    const [optionsURL, finishURL, kind] = endpoints[button.dataset.passkey];
    const next = button.dataset.next || "/";
    button.disabled = true;
    try {
      const options = await post(optionsURL);
      let credential;
      if (kind === "create") {
        credential = await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey),
        });
      } else {
        credential = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
        });
      }
      const body = { ceremony: options.ceremony, credential: credential.toJSON() };
      const nameInput = document.getElementById("passkey-name");
      if (kind === "create" && nameInput) {
        body.name = nameInput.value;
      }
      const answer = await post(finishURL, body);
      if (Array.isArray(answer.recoveryCodes) && answer.recoveryCodes.length > 0) {
        const recovery = await import("/static/recovery.js");
        recovery.show(answer.recoveryCodes, next);
        return;
      }
      window.location.assign(next);
    } catch (err) {
      if (err.status === 403 && /step-up/.test(err.message)) {
        window.location.assign("/step-up?next=" + encodeURIComponent(window.location.pathname));
        return;
      }
      if (err.name === "NotAllowedError") {
        showError(button, "The passkey request was cancelled or timed out.");
        return;
      }
      showError(button, err.message || String(err));
    }
  }

  const supported = window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;
  for (const el of document.querySelectorAll("[data-passkey-section]")) {
    el.hidden = !supported || el.hasAttribute("data-passkey-platform");
  }
  const platform = document.querySelectorAll("[data-passkey-platform]");
  if (supported && platform.length > 0 && PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable) {
    PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()
      .then((available) => {
        for (const el of platform) {
          el.hidden = !available;
        }
      })
      .catch(() => {});
  }
  for (const button of document.querySelectorAll("button[data-passkey]")) {
    button.addEventListener("click", () => ceremony(button));
  }
})();
