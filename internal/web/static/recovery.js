// Recovery codes, shown once right after a person's first factor: copy them to the clipboard or
// save them as a text file. A page lists them in a [data-recovery] section: the server renders
// one after an authenticator app is set up, and show() builds the same when a passkey
// registration answers with codes (passkeys.js). Without this module the codes can still be
// written down and the "I saved them" box still guards Continue; only copy and download need it.

const fileName = "haven-recovery-codes.txt";
const title = "Save your recovery codes";

function codesOf(section) {
  return [...section.querySelectorAll(".codes code")].map((c) => c.textContent.trim());
}

function fileText(codes) {
  return [
    "Haven recovery codes",
    "",
    "Each code signs you in once, typed where Haven asks for your code,",
    "if you lose your phone or passkey. Keep this file somewhere safe.",
    "",
    ...codes,
    "",
  ].join("\n");
}

function say(section, message) {
  const status = section.querySelector("[data-recovery-status]");
  if (status) {
    status.textContent = message;
  }
}

// wire turns on the copy and download buttons of a section that lists codes.
function wire(section) {
  const codes = codesOf(section);
  const tools = section.querySelector("[data-recovery-tools]");
  const copy = section.querySelector("[data-recovery-copy]");
  const download = section.querySelector("[data-recovery-download]");
  if (!tools || !copy || !download || codes.length === 0 || section.dataset.wired) {
    return;
  }
  section.dataset.wired = "yes";
  // A data: URL built here: the codes never travel again, and nothing is stored.
  download.href = "data:text/plain;charset=utf-8," + encodeURIComponent(fileText(codes));
  download.download = fileName;
  download.addEventListener("click", () => say(section, "Downloading " + fileName + "."));
  copy.hidden = !(navigator.clipboard && navigator.clipboard.writeText);
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(codes.join("\n") + "\n");
      say(section, "Copied. Paste them into your password manager, or a note you keep safe.");
    } catch {
      say(section, "The codes could not be copied: select them and copy, or download them.");
    }
  });
  tools.hidden = false;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(e, rest);
  Object.assign(e.dataset, dataset || {});
  e.append(...children);
  return e;
}

// continueForm is the "I saved them" form that goes on to next, a path on this site: a GET form
// replaces its action's query, so the query travels as hidden fields.
function continueForm(next) {
  const to = new URL(next || "/", window.location.href);
  const form = el("form", { method: "get", action: to.origin === window.location.origin ? to.pathname : "/", id: "recovery-done", className: "card" });
  if (to.origin === window.location.origin) {
    for (const [name, value] of to.searchParams) {
      form.append(el("input", { type: "hidden", name, value }));
    }
  }
  form.append(
    el("p", { className: "check" },
      el("input", { type: "checkbox", id: "recovery-saved", required: true }),
      el("label", { htmlFor: "recovery-saved" }, "I saved them")),
    el("button", { type: "submit" }, "Continue"));
  return form;
}

// show replaces the page's content with the codes, as the server's page shows them, and the way
// on to next once they are saved.
export function show(codes, next) {
  const main = document.querySelector("main");
  for (const child of main.children) {
    if (child.tagName !== "H1") {
      child.hidden = true;
    }
  }
  const heading = main.querySelector("h1");
  heading.textContent = title;
  heading.tabIndex = -1;
  document.title = title + " · Haven";

  const lead = el("p", { id: "recovery-lead" },
    el("strong", {}, "If you lose your phone or passkey, each of these codes signs you in once"),
    ", typed where Haven asks for your code. Keep them somewhere safe, away from your phone: in a password manager, or printed. They are shown only now.");
  const list = el("ul", { className: "codes", id: "recovery-codes" },
    ...codes.map((c) => el("li", {}, el("code", {}, c))));
  const tools = el("p", { className: "actions", hidden: true, dataset: { recoveryTools: "" } },
    el("button", { type: "button", className: "secondary", dataset: { recoveryCopy: "" } }, "Copy the codes"),
    " ",
    el("a", { className: "button secondary", href: "#recovery-codes", dataset: { recoveryDownload: "" } }, "Download as a text file"));
  const status = el("p", { className: "ok", dataset: { recoveryStatus: "" } });
  status.setAttribute("role", "status");
  const section = el("section", { className: "notice", id: "recovery", dataset: { recovery: "" } }, lead, list, tools, status);
  section.setAttribute("aria-labelledby", "recovery-lead");
  main.append(section, continueForm(next));
  wire(section);
  heading.focus();
}

for (const section of document.querySelectorAll("[data-recovery]")) {
  wire(section);
}
