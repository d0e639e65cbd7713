// Live pages. A page that shows what other people change (a waiting room, a visit's page, the
// on-demand queue) names a server-sent event stream of the JSON API in data-events on <main>.
// An event says only that something changed (a kind and an identifier, never PHI); the page then
// asks the server for itself again, through the same guarded call as any page, and swaps the
// regions marked data-live (each has an id), keeping what the person is typing elsewhere. When
// the new copy's data-state differs (the visit started, or ended), the whole main content is
// replaced and its news announced. data-poll (seconds) refreshes the page even without events,
// and a stream that cannot be opened falls back to a refresh every 20 seconds. Without this
// module the pages still work: reloading them shows the same.
const main = document.querySelector("main[data-state]");
// The kinds of event Haven's streams send (package visits). A kind missing here is still caught
// by the page's periodic refresh.
const liveKinds = [
  "schedule", "check-in", "intake", "guests-allowed", "admit", "end", "queue", "guest-invited", "guest-joined",
  "clinician-online", "clinician-offline", "visit", "waiting-room", "cancel", "no-show",
];
const announcer = document.getElementById("live-announce");

if (main) {
  const src = main.dataset.src || location.href;
  let busy = false;
  let again = false;

  const say = (text) => {
    if (announcer && text) {
      announcer.textContent = "";
      // A fresh text node after a tick is announced even when it repeats the last one.
      setTimeout(() => { announcer.textContent = text; }, 50);
    }
  };

  // What a screen reader hears after a change: the data-announce words of what changed.
  const announcements = (root) =>
    [root, ...root.querySelectorAll("[data-announce]")].map((el) => el.dataset.announce).filter(Boolean).join(" ");

  const swap = (next, doc) => {
    const focusedID = document.activeElement && document.activeElement.id;
    let news = "";
    if (next.dataset.state !== main.dataset.state) {
      main.replaceChildren(...[...next.childNodes].map((n) => document.importNode(n, true)));
      main.dataset.state = next.dataset.state;
      document.title = doc.title;
      news = announcements(main);
      const h1 = main.querySelector("h1");
      if (h1 && !(focusedID && document.getElementById(focusedID))) {
        h1.tabIndex = -1;
        h1.focus();
      }
    } else {
      for (const region of main.querySelectorAll("[data-live]")) {
        const fresh = next.querySelector("#" + CSS.escape(region.id));
        if (fresh && fresh.innerHTML !== region.innerHTML) {
          const copy = document.importNode(fresh, true);
          region.replaceWith(copy);
          news += " " + announcements(copy);
        }
      }
    }
    if (focusedID) {
      const el = document.getElementById(focusedID);
      if (el && el !== document.activeElement) el.focus();
    }
    say(news.trim());
  };

  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch(src, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } });
      if (res.redirected || res.status === 401) {
        // Signed out (the session ended): go where the server sends the browser.
        location.assign(res.url);
        return;
      }
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const next = doc.querySelector("main[data-state]");
      if (next) swap(next, doc);
    } catch {
      // Offline for a moment: the next event or poll tries again.
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  };

  let polling = 0;
  const poll = (seconds) => {
    if (!polling && seconds > 0) polling = setInterval(refresh, seconds * 1000);
  };

  const stream = main.dataset.events;
  if (stream && "EventSource" in window) {
    const es = new EventSource(stream);
    let lost = false;
    es.onmessage = refresh;
    // The stream names each event by its kind; any of them means "look again".
    for (const kind of liveKinds) es.addEventListener(kind, refresh);
    es.onerror = () => {
      lost = true;
      if (es.readyState === EventSource.CLOSED) poll(20);
    };
    es.onopen = () => {
      if (lost) {
        lost = false;
        refresh(); // catch up on what changed while the stream was down
      }
    };
    addEventListener("pagehide", () => es.close());
  } else if (stream) {
    poll(20);
  }
  poll(Number(main.dataset.poll) || 0);
}
