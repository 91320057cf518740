// The mailbox page: open messages in the reading pane, page the list, follow live changes,
// keyboard navigation. Everything also works as plain links and forms without this module.

const mail = document.querySelector("[data-mail]");
const reader = document.querySelector("[data-reader]");
const body = document.body;

function listEl() { return document.querySelector("[data-message-list]"); }
function folderIds() { return (mail?.dataset.folderIds || "").split(",").filter(Boolean); }

// ---- The reading pane --------------------------------------------------------
function fitFrame(frame) {
  const resize = () => {
    try {
      const doc = frame.contentDocument;
      if (doc?.documentElement) frame.style.height = `${doc.documentElement.scrollHeight + 16}px`;
    } catch { /* a frame we cannot read keeps its CSS height */ }
  };
  frame.addEventListener("load", resize);
  resize();
}

function wireReader() {
  reader?.querySelectorAll("iframe.body-frame").forEach(fitFrame);
}

function markCurrent(id) {
  listEl()?.querySelectorAll(".msg").forEach((row) => {
    const current = row.dataset.messageId === String(id);
    row.classList.toggle("current", current);
    const link = row.querySelector(".msg-link");
    if (current) {
      link?.setAttribute("aria-current", "true");
      row.classList.remove("unread");
      row.querySelector(".msg-from .visually-hidden")?.remove();
    } else {
      link?.removeAttribute("aria-current");
    }
  });
}

async function openMessage(id, url, { push = true, focus = true } = {}) {
  if (!reader) return;
  reader.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(`/mail/m/${encodeURIComponent(id)}/pane`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    reader.innerHTML = await response.text();
  } catch {
    window.location.href = url; // let the server render the full page (and its error)
    return;
  } finally {
    reader.removeAttribute("aria-busy");
  }
  body.classList.add("reading");
  markCurrent(id);
  wireReader();
  if (push) history.pushState({ messageId: id }, "", url);
  if (focus) reader.querySelector("h2")?.focus();
}

function closeReader({ push = true } = {}) {
  body.classList.remove("reading");
  if (push && mail) history.pushState({}, "", mail.dataset.baseUrl + window.location.search);
  const current = listEl()?.querySelector(".msg.current .msg-link");
  current?.focus();
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const link = event.target.closest("[data-open-message]");
  if (link) {
    event.preventDefault();
    openMessage(link.dataset.openMessage, link.href);
    return;
  }
  if (event.target.closest("[data-reader-back]")) {
    event.preventDefault();
    closeReader();
    return;
  }
  const more = event.target.closest("[data-next-page]");
  if (more) {
    event.preventDefault();
    loadMore(more);
  }
});

window.addEventListener("popstate", () => {
  const match = window.location.pathname.match(/\/m\/(\d+)\/$/);
  if (match) openMessage(match[1], window.location.href, { push: false, focus: false });
  else closeReader({ push: false });
});

// ---- The list: controls, paging, live updates ------------------------------
document.querySelector("[data-list-controls]")?.addEventListener("change", (event) => {
  event.currentTarget.requestSubmit();
});

async function fetchRows(url) {
  const target = new URL(url, window.location.href);
  target.searchParams.set("partial", "list");
  const response = await fetch(target, { credentials: "same-origin" });
  if (!response.ok) throw new Error(String(response.status));
  const holder = document.createElement("ul");
  holder.innerHTML = await response.text();
  return holder;
}

async function loadMore(link) {
  const item = link.closest("li");
  link.setAttribute("aria-busy", "true");
  try {
    const holder = await fetchRows(link.href);
    item.replaceWith(...holder.children);
  } catch {
    window.location.href = link.href;
  }
}

// Older pages load by themselves as the list scrolls near its end.
const moreObserver = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) loadMore(entry.target.querySelector("[data-next-page]"));
  }
}, { rootMargin: "400px" }) : null;
function watchMore() {
  const more = listEl()?.querySelector(".msg-more");
  if (more && moreObserver && !more.dataset.watched) { more.dataset.watched = "1"; moreObserver.observe(more); }
}
watchMore();
new MutationObserver(watchMore).observe(document.body, { childList: true, subtree: true });

let refreshing = null;
async function refreshFirstPage() {
  // Re-read the first page and merge it: new rows appear in place, changed rows are
  // redrawn, rows that left the first page of a folder that lost them are removed.
  const list = listEl();
  if (!list || !mail) return;
  const url = mail.dataset.baseUrl + window.location.search.replace(/([?&])cursor=[^&]*/, "$1");
  const holder = await fetchRows(url);
  const fresh = [...holder.querySelectorAll(".msg")];
  const currentId = list.querySelector(".msg.current")?.dataset.messageId;
  let anchor = null;
  for (const row of fresh) {
    const old = list.querySelector(`.msg[data-message-id="${row.dataset.messageId}"]`);
    if (row.dataset.messageId === currentId) row.classList.add("current");
    if (old) old.replaceWith(row);
    else if (anchor) anchor.after(row);
    else list.prepend(row);
    anchor = row;
  }
  list.hidden = false;
  document.querySelector("[data-message-list-empty]")?.remove();
}

window.addEventListener("ruche:mail.messages", (event) => {
  const { folder_id: folderId, removed = [] } = event.detail;
  if (!folderIds().includes(String(folderId))) return;
  for (const id of removed) listEl()?.querySelector(`.msg[data-message-id="${Number(id)}"]`)?.remove();
  // Several events in a burst (a sync batch) cause one refresh.
  if (!refreshing) {
    refreshing = setTimeout(() => {
      refreshing = null;
      refreshFirstPage().catch(() => {});
    }, 100);
  }
});

window.addEventListener("ruche:mail.folders", (event) => {
  for (const folder of event.detail.folders || []) {
    document.querySelectorAll(`[data-unread-for="${Number(folder.id)}"]`).forEach((badge) => {
      const label = badge.querySelector(".visually-hidden");
      badge.textContent = "";
      if (label) badge.append(label);
      badge.append(String(folder.unread));
      badge.hidden = !folder.unread;
    });
  }
});

// ---- Keyboard: j/k move, o or Enter opens, u goes back to the list ---------
function rows() { return [...(listEl()?.querySelectorAll(".msg-link") || [])]; }
document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest("input, select, textarea, [contenteditable]")) return;
  const all = rows();
  if (!all.length) return;
  const index = all.indexOf(document.activeElement);
  const selected = index >= 0 ? index : all.findIndex((a) => a.closest(".msg.current"));
  if (event.key === "j" || event.key === "k") {
    event.preventDefault();
    const next = Math.min(all.length - 1, Math.max(0, selected + (event.key === "j" ? 1 : -1)));
    all[next].focus();
    if (body.classList.contains("reading") || window.matchMedia("(min-width: 62rem)").matches) {
      openMessage(all[next].dataset.openMessage, all[next].href, { focus: false });
    }
  } else if (event.key === "o" && selected >= 0) {
    event.preventDefault();
    openMessage(all[selected].dataset.openMessage, all[selected].href);
  } else if (event.key === "u" && body.classList.contains("reading")) {
    event.preventDefault();
    closeReader();
  }
});

wireReader();

// ---- Search as you type ------------------------------------------------------
const searchInput = document.querySelector("[data-search-input]");
let searchTimer = null;
let searchSeq = 0;
searchInput?.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const text = searchInput.value.trim();
    if (text.length < 2) return;
    const seq = ++searchSeq;
    const url = new URL(searchInput.form.action, window.location.href);
    url.searchParams.set("q", text);
    let holder;
    try { holder = await fetchRows(url); } catch { return; }
    if (seq !== searchSeq) return; // a newer keystroke already asked
    let list = listEl();
    if (!list) return;
    list.replaceChildren(...holder.children);
    list.hidden = false;
    document.querySelector("[data-message-list-empty]")?.remove();
    document.getElementById("list-title").textContent = text;
    history.replaceState({}, "", url);
    if (mail) mail.dataset.baseUrl = url.pathname;
  }, 150);
});

// ---- View switch: saved for the user, then the list reloads -----------------------
document.querySelector("[data-view-switch]")?.addEventListener("change", (event) => {
  event.currentTarget.requestSubmit();
});

// ---- Sync progress (first sync of a large mailbox, errors) ------------------------
const syncBox = document.querySelector("[data-sync-status]");
const syncLabels = {};
document.getElementById("sync-labels")?.content.querySelectorAll("[data-for]").forEach((el) => {
  syncLabels[el.dataset.for] = el.textContent;
});
window.addEventListener("ruche:mail.sync", (event) => {
  const { account_id: accountId, state, done = 0, total = 0, error = "" } = event.detail;
  const accounts = (mail?.dataset.accountIds || "").split(",");
  if (!syncBox || !accounts.includes(String(accountId))) return;
  const text = syncBox.querySelector("[data-sync-text]");
  const bar = syncBox.querySelector("[data-sync-progress]");
  if (state === "running" && total > 0) {
    syncBox.hidden = false;
    bar.hidden = false;
    bar.max = total;
    bar.value = done;
    text.textContent = `${syncLabels.running || ""} ${done.toLocaleString()} / ${total.toLocaleString()}`;
  } else if (state === "error" || state === "paused") {
    syncBox.hidden = false;
    bar.hidden = true;
    text.textContent = `${syncLabels[state] || ""} ${error}`;
  } else if (state === "done") {
    syncBox.hidden = true;
  }
});

// ---- First sync of a new account: the page shows its folders as soon as they exist --
if (document.querySelector("[data-mail-waiting]")) {
  const reload = () => window.location.reload();
  window.addEventListener("ruche:mail.folders", reload);
  window.addEventListener("ruche:mail.sync", (event) => { if (event.detail.state !== "running") reload(); });
}
