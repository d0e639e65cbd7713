// Signs a draft prescription with the prescriber's passkey: the WebAuthn challenge Haven sends
// is the digest of the canonical prescription, so the passkey's signature covers exactly what
// the page shows. Without a passkey the page's other button signs with Haven's key.
const button = document.getElementById("rx-sign-passkey");
const errorBox = document.getElementById("rx-sign-error");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  button.disabled = false;
}

async function post(url, body) {
  const resp = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(data.error || "The request failed. Try again.");
    err.status = resp.status;
    throw err;
  }
  return data;
}

async function sign() {
  const id = button.dataset.rx;
  const base = "/api/v1/prescriptions/" + encodeURIComponent(id);
  button.disabled = true;
  errorBox.hidden = true;
  try {
    const start = await post(base + "/signing");
    if (start.method !== "passkey") {
      showError("You have no passkey. Sign with Haven's key after a fresh code, or add a passkey on your Security page.");
      return;
    }
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(start.options.publicKey),
    });
    await post(base + "/signature", { method: "passkey", ceremony: start.options.ceremony, credential: credential.toJSON() });
    window.location.assign("/clinician/prescriptions/" + encodeURIComponent(id));
  } catch (err) {
    if (err.name === "NotAllowedError") {
      showError("The passkey request was cancelled or timed out. Try again.");
      return;
    }
    showError(err.message);
  }
}

if (button) {
  if (!window.PublicKeyCredential) {
    button.hidden = true;
  } else {
    button.addEventListener("click", sign);
  }
}
