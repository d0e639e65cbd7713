// A pharmacy's check of a prescription. The QR code carries the verification code after "#",
// which browsers never send to a server; this module takes it from there, clears it from the
// address bar, and asks Haven's public API.
const form = document.getElementById("rx-check");
const input = document.getElementById("rx-code");
const result = document.getElementById("rx-result");
const dispense = document.getElementById("rx-dispense");
const base = "/api/v1/prescriptions/" + encodeURIComponent(form.dataset.rx);

const states = {
  valid: "Valid: not yet dispensed.",
  cancelled: "Cancelled by the prescriber. Do not dispense it.",
  dispensed: "Already dispensed. Do not dispense it again.",
};

function line(label, value) {
  const p = document.createElement("p");
  const b = document.createElement("strong");
  b.textContent = label + ": ";
  p.append(b, value);
  return p;
}

function show(v) {
  result.replaceChildren(
    line("Status", states[v.status] || v.status),
    line("Signature", v.signatureVerifies ? "verifies" : "DOES NOT VERIFY: do not dispense"),
    line("Medication", v.medication),
    ...(v.directions ? [line("How to take it", v.directions)] : []),
    line("Quantity", v.quantity),
    line("Refills", String(v.refills)),
    ...(v.schedule ? [line("Controlled substance", "schedule " + v.schedule)] : []),
    line("Prescriber", v.prescriberName),
    line("Issued", v.issuedOn),
    line("Patient's initials", v.patientInitials),
  );
  dispense.hidden = !(v.status === "valid" && v.signatureVerifies);
}

async function check() {
  dispense.hidden = true;
  const resp = await fetch(base + "/verification?code=" + encodeURIComponent(input.value), { credentials: "omit" });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    result.textContent = data.error || "Haven could not answer. Try again.";
    return;
  }
  show(data);
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  check();
});

dispense.addEventListener("click", async () => {
  dispense.disabled = true;
  const resp = await fetch(base + "/dispense", {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code: input.value }),
  });
  const data = await resp.json().catch(() => ({}));
  dispense.disabled = false;
  if (!resp.ok) {
    result.textContent = data.error || "Haven could not answer. Try again.";
    dispense.hidden = true;
    return;
  }
  await check();
  const done = document.createElement("p");
  done.textContent = "Marked dispensed.";
  result.prepend(done);
});

if (location.hash.length > 1) {
  input.value = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
  check();
}
