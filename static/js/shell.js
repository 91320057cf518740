// The shell: rail toggle, the tab's one WebSocket, presence heartbeats and live updates.
// Page modules listen for `ruche:<event type>` on window; they never open sockets of their own.

const HEARTBEAT_MS = 15000;
const body = document.body;
document.documentElement.classList.add("js");

// ---- Rail (phone: slides in over the page) --------------------------------
const railToggle = document.querySelector("[data-rail-toggle]");
const rail = document.getElementById("rail");
function setRail(open) {
  if (!rail || !railToggle) return;
  rail.classList.toggle("open", open);
  railToggle.setAttribute("aria-expanded", String(open));
  if (open) rail.querySelector("a")?.focus();
}
railToggle?.addEventListener("click", () => setRail(!rail.classList.contains("open")));
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (rail?.classList.contains("open")) { setRail(false); railToggle.focus(); }
  const menu = document.querySelector(".user-menu[open]");
  if (menu) { menu.open = false; menu.querySelector("summary").focus(); }
});

// ---- Status labels (translated in the page's <template>) ------------------
const labels = {};
document.getElementById("status-labels")?.content.querySelectorAll("[data-for]").forEach((el) => { labels[el.dataset.for] = el.textContent; });
const lang = document.documentElement.lang || "en";
const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });

function lastSeenText(seconds) {
  if (!seconds) return labels.never || "";
  const ago = Math.max(0, Date.now() / 1000 - seconds);
  let when;
  if (ago < 60) when = labels["just-now"];
  else if (ago < 3600) when = relative.format(-Math.round(ago / 60), "minute");
  else if (ago < 86400) when = relative.format(-Math.round(ago / 3600), "hour");
  else when = relative.format(-Math.round(ago / 86400), "day");
  return `${labels.offline} · ${labels["last-seen"]} ${when}`;
}

function applyPresence({ user_id: userId, status, last_seen: lastSeen }) {
  if (String(userId) === body.dataset.userId) {
    document.querySelectorAll("[data-my-status]").forEach((dot) => { dot.dataset.status = status; });
  }
  document.querySelectorAll(`[data-presence-list] [data-user-id="${Number(userId)}"]`).forEach((item) => {
    item.dataset.status = status;
    item.querySelector(".dot")?.setAttribute("data-status", status);
    const label = item.querySelector("[data-status-label]");
    if (label) label.textContent = status === "offline" ? lastSeenText(lastSeen) : (labels[status] || status);
  });
  const count = document.querySelector("[data-online-count]");
  const list = document.querySelector("[data-presence-list]");
  if (count && list) {
    const n = list.querySelectorAll('[data-status]:not([data-status="offline"]).person').length;
    count.textContent = count.textContent.replace(/\d+/, String(n));
  }
}
window.addEventListener("ruche:presence", (event) => applyPresence(event.detail));

// ---- The WebSocket ----------------------------------------------------------
const connectionNote = document.querySelector("[data-connection]");
let socket = null;
let retry = 0;
let lastInput = Date.now();
const idleMs = Number(body.dataset.idleSeconds || 300) * 1000;

// A tab hidden for a moment (switching tabs, a page opening) is not "away" yet.
const HIDDEN_GRACE_MS = 3000;
let hiddenSince = document.visibilityState === "hidden" ? Date.now() : null;
function tabState() {
  if (hiddenSince !== null && Date.now() - hiddenSince >= HIDDEN_GRACE_MS) return "hidden";
  return Date.now() - lastInput > idleMs ? "idle" : "active";
}
let sentState = null;
function heartbeat(force = false) {
  const state = tabState();
  if (socket?.readyState !== WebSocket.OPEN) return;
  if (force || state !== sentState || !heartbeat.last || Date.now() - heartbeat.last >= HEARTBEAT_MS - 500) {
    socket.send(JSON.stringify({ type: "presence.heartbeat", state }));
    sentState = state;
    heartbeat.last = Date.now();
  }
}

function connect() {
  if (!body.dataset.wsUrl) return;
  const url = new URL(body.dataset.wsUrl, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    retry = 0;
    if (connectionNote) connectionNote.hidden = true;
    body.dataset.socket = "open";
    heartbeat(true);
  });
  socket.addEventListener("message", (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    if (frame && typeof frame.type === "string") {
      window.dispatchEvent(new CustomEvent(`ruche:${frame.type}`, { detail: frame.payload || {} }));
    }
  });
  socket.addEventListener("close", (event) => {
    body.dataset.socket = "closed";
    if (event.code === 4401) { window.location.reload(); return; } // session ended: back to login
    if (connectionNote) connectionNote.hidden = false;
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 500 * 2 ** retry * (0.5 + Math.random() / 2));
  });
}

for (const type of ["pointerdown", "keydown", "wheel", "touchstart"]) {
  window.addEventListener(type, () => {
    const wasIdle = tabState() === "idle";
    lastInput = Date.now();
    if (wasIdle) heartbeat(true);
  }, { passive: true });
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    hiddenSince = Date.now();
    setTimeout(() => heartbeat(false), HIDDEN_GRACE_MS + 50);
  } else {
    hiddenSince = null;
    heartbeat(true);
  }
});
setInterval(() => heartbeat(false), 5000);
connect();

// ---- "My status" without a page reload -------------------------------------
const statusForm = document.querySelector("[data-status-form]");
statusForm?.addEventListener("change", async () => {
  const data = new FormData(statusForm);
  try {
    const response = await fetch(statusForm.action, {
      method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
  } catch {
    statusForm.submit(); // fall back to the plain form post
  }
});
