// The mailbox page: open messages in the reading pane, page the list, follow live changes,
// keyboard navigation. Everything also works as plain links and forms without this module.
import "./reply-selection.js"; // Reply / Reply all quote only the selected text

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
// When each message left the list here (an action, or the server saying it went): a refresh
// whose request started before that holds stale rows and must not bring it back.
const leftAt = new Map();
function noteLeft(id) { leftAt.set(String(id), performance.now()); }
async function refreshFirstPage() {
  // Re-read the first page and merge it: new rows appear in place, changed rows are
  // redrawn, rows that left the first page of a folder that lost them are removed.
  const list = listEl();
  if (!list || !mail) return;
  const url = mail.dataset.baseUrl + window.location.search.replace(/([?&])cursor=[^&]*/, "$1");
  const startedAt = performance.now();
  const holder = await fetchRows(url);
  const fresh = [...holder.querySelectorAll(".msg")].filter((row) => !((leftAt.get(row.dataset.messageId) ?? -1) > startedAt));
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
  for (const id of removed) {
    noteLeft(Number(id));
    listEl()?.querySelector(`.msg[data-message-id="${Number(id)}"]`)?.remove();
  }
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

// ---- Keyboard: j/k move, o opens, u back to the list, x selects; other keys click the
// visible element marked data-shortcut="<key>" (toolbar buttons, Reply links, the search box).
function rows() { return [...(listEl()?.querySelectorAll(".msg-link") || [])]; }
function visible(el) { return Boolean(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length)); }
document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
  if (event.target.closest("input, select, textarea, [contenteditable], dialog")) return;
  const all = rows();
  const index = all.indexOf(document.activeElement);
  const selected = index >= 0 ? index : all.findIndex((a) => a.closest(".msg.current"));
  if ((event.key === "j" || event.key === "k") && all.length) {
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
  } else if (event.key === "x" && selected >= 0) {
    event.preventDefault();
    const box = all[selected].closest(".msg")?.querySelector(".msg-select");
    if (box) { box.checked = !box.checked; selectionChanged(); }
  } else {
    const target = [...document.querySelectorAll("[data-shortcut]")]
      .find((el) => el.dataset.shortcut === event.key && visible(el) && !el.disabled);
    if (!target) return;
    event.preventDefault();
    if (target.matches("input, textarea, select")) target.focus();
    else target.click();
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

// ---- Selection: a checkbox per row, shift-click ranges, "select all on this page" ----------
const actions = document.querySelector("[data-actions]");
const selectAll = document.querySelector("[data-select-all]");
// On a phone the action buttons fold away until a row is ticked, so the list starts near the top
// (the CSS does it only when this class says selection works, i.e. with JavaScript).
actions?.classList.add("selection-driven");
document.querySelectorAll("[data-js-only]").forEach((el) => { el.hidden = false; });
let lastBox = null;

function decorateRows() {
  listEl()?.querySelectorAll(".msg[data-message-id]").forEach((row) => {
    if (row.querySelector(".msg-select")) return;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "msg-select";
    box.value = row.dataset.messageId;
    const subject = row.querySelector(".msg-subject")?.textContent.trim() || "";
    box.setAttribute("aria-label", `${actions?.dataset.selectLabel || "Select"}: ${subject}`);
    row.prepend(box);
    row.draggable = true;
  });
}
function boxes() { return [...(listEl()?.querySelectorAll(".msg-select") || [])]; }
function selectedIds() { return boxes().filter((b) => b.checked).map((b) => b.value); }
function selectionChanged() {
  const all = boxes();
  const chosen = all.filter((b) => b.checked);
  if (selectAll) {
    selectAll.checked = all.length > 0 && chosen.length === all.length;
    selectAll.indeterminate = chosen.length > 0 && chosen.length < all.length;
  }
  const count = document.querySelector("[data-selection-count]");
  if (count) count.textContent = chosen.length ? `${chosen.length} ✓` : "";
  actions?.classList.toggle("has-selection", chosen.length > 0);
}
decorateRows();
new MutationObserver(() => { decorateRows(); }).observe(document.body, { childList: true, subtree: true });

document.addEventListener("click", (event) => {
  const box = event.target.closest(".msg-select");
  if (!box) return;
  if (event.shiftKey && lastBox && lastBox !== box) {
    const all = boxes();
    const [a, b] = [all.indexOf(lastBox), all.indexOf(box)].sort((x, y) => x - y);
    if (a >= 0) all.slice(a, b + 1).forEach((other) => { other.checked = box.checked; });
  }
  lastBox = box;
  selectionChanged();
});
selectAll?.addEventListener("change", () => {
  boxes().forEach((b) => { b.checked = selectAll.checked; });
  selectionChanged();
});

// ---- Actions: sent in place, the page changes at once and rolls back if the server refuses ----
const LEAVES = new Set(["archive", "trash", "delete", "junk", "notjunk", "move", "snooze"]);

function rowFor(id) { return listEl()?.querySelector(`.msg[data-message-id="${Number(id)}"]`); }
function openedId() {
  const match = window.location.pathname.match(/\/m\/(\d+)\/$/);
  return body.classList.contains("reading") || document.querySelector(".reader") ? match?.[1] : null;
}

function say(text, { error = false } = {}) {
  const errorBox = document.querySelector("[data-action-error]");
  const status = document.querySelector("[data-action-status]");
  if (error && errorBox) { errorBox.textContent = text; errorBox.hidden = false; errorBox.focus?.(); return; }
  if (errorBox) errorBox.hidden = true;
  if (status) status.textContent = text;
}

function applyOptimistic(action, ids) {
  // Returns how to undo it: the rows as they were, where they were.
  const saved = ids.map((id) => rowFor(id)).filter(Boolean).map((row) => ({
    row, clone: row.cloneNode(true), parent: row.parentNode, next: row.nextSibling,
  }));
  let readerHtml = null;
  for (const { row } of saved) {
    if (LEAVES.has(action)) { noteLeft(row.dataset.messageId); row.remove(); }
    else if (action === "read") row.classList.remove("unread");
    else if (action === "unread") row.classList.add("unread");
    else if (action === "flag") row.dataset.flagged = "1";
    else if (action === "unflag") delete row.dataset.flagged;
  }
  const opened = openedId();
  if (LEAVES.has(action) && opened && ids.includes(String(opened)) && reader) {
    readerHtml = reader.innerHTML;
    const empty = document.createElement("p");
    empty.className = "empty-state reader-empty";
    empty.textContent = actions?.dataset.readerEmpty || "";
    reader.replaceChildren(empty);
    body.classList.remove("reading");
    if (mail) history.replaceState({}, "", mail.dataset.baseUrl + window.location.search);
  }
  selectionChanged();
  return () => {
    for (const { row, clone, parent, next } of saved.reverse()) {
      leftAt.delete(row.dataset.messageId);
      if (row.isConnected) row.replaceWith(clone);
      else if (next?.isConnected) parent.insertBefore(clone, next);
      else parent.append(clone);
    }
    if (readerHtml !== null && reader) { reader.innerHTML = readerHtml; wireReader(); }
    selectionChanged();
  };
}

async function sendAction(form, data, ids) {
  say(""); // the previous outcome goes: the next one is announced afresh
  let action = data.get("action") || (data.get("move_to") ? "move" : data.get("when") ? "snooze" : "");
  if (action === "toggleflag") {
    const rowsNow = ids.map(rowFor).filter(Boolean);
    const allFlagged = rowsNow.length > 0 && rowsNow.every((r) => r.querySelector(".flagged") || r.dataset.flagged);
    action = allFlagged ? "unflag" : "flag";
    data.set("action", action);
  }
  data.delete("ids");
  ids.forEach((id) => data.append("ids", id));
  const undo = applyOptimistic(action, ids);
  form.setAttribute("aria-busy", "true");
  let answer = null;
  try {
    const response = await fetch(form.getAttribute("action"), { // form.action is the "action" buttons
      method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" },
    });
    answer = await response.json().catch(() => null);
    if (!response.ok || !answer?.ok) throw new Error(answer?.message || String(response.status));
  } catch (error) {
    undo();
    say(answer?.message || actions?.dataset.failed || String(error), { error: true });
    return;
  } finally {
    form.removeAttribute("aria-busy");
    form.querySelectorAll("details[open]").forEach((d) => { d.open = false; });
  }
  say(answer.message);
  if (!LEAVES.has(action)) refreshFirstPage().catch(() => {});
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-actions], [data-message-actions]")) return;
  const submitter = event.submitter;
  const confirmText = submitter?.dataset.confirmDelete;
  event.preventDefault();
  if (confirmText && !window.confirm(confirmText)) return;
  const data = new FormData(form, submitter);
  if (confirmText) data.set("confirm", "1");
  let ids = data.getAll("ids").map(String);
  if (form.matches("[data-actions]")) {
    ids = selectedIds();
    if (!ids.length) {
      const focused = document.activeElement?.closest?.(".msg")?.dataset.messageId;
      const current = openedId() || focused || listEl()?.querySelector(".msg.current")?.dataset.messageId;
      if (current) ids = [String(current)];
    }
  }
  if (!ids.length) {
    say(actions?.dataset.noSelection || "", { error: true });
    return;
  }
  sendAction(form, data, ids);
});

// Buttons with data-confirm ask first (emptying the Trash, deleting a folder).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// ---- Drag rows onto a folder of the folder list to move them -----------------------------
const DRAG_TYPE = "application/x-ruche-messages";
document.addEventListener("dragstart", (event) => {
  const row = event.target.closest?.(".msg[data-message-id]");
  if (!row || !event.dataTransfer) return;
  const box = row.querySelector(".msg-select");
  const ids = box?.checked ? selectedIds() : [row.dataset.messageId];
  event.dataTransfer.setData(DRAG_TYPE, ids.join(","));
  event.dataTransfer.effectAllowed = "move";
  row.classList.add("dragging");
});
document.addEventListener("dragend", (event) => { event.target.closest?.(".msg")?.classList.remove("dragging"); });
function dropTarget(event) {
  return event.dataTransfer?.types.includes(DRAG_TYPE) ? event.target.closest?.("[data-folders] a[data-folder-id]") : null;
}
document.addEventListener("dragover", (event) => {
  const target = dropTarget(event);
  if (!target) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "move";
  document.querySelectorAll(".drop-target").forEach((el) => el !== target && el.classList.remove("drop-target"));
  target.classList.add("drop-target");
});
document.addEventListener("dragleave", (event) => { event.target.closest?.(".drop-target")?.classList.remove("drop-target"); });
document.addEventListener("drop", (event) => {
  const target = dropTarget(event);
  if (!target || !actions) return;
  event.preventDefault();
  target.classList.remove("drop-target");
  const ids = event.dataTransfer.getData(DRAG_TYPE).split(",").filter(Boolean);
  if (!ids.length) return;
  const data = new FormData(actions);
  data.delete("action");
  data.set("move_to", target.dataset.folderId);
  sendAction(actions, data, ids);
});

// ---- Shortcuts help: an accessible modal dialog (Escape closes it) ------------------------
const help = document.querySelector("[data-shortcuts-help]");
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-shortcuts-open]") && help && !help.open) help.showModal();
});

// ---- The folder tree changed (created, renamed, deleted, shown/hidden): redraw the folder list --
window.addEventListener("ruche:mail.folders", async (event) => {
  if (!event.detail.tree) return;
  const rail = document.querySelector("[data-folders]");
  if (!rail) return;
  try {
    const response = await fetch("/mail/folders/rail/", { credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("[data-folders]");
    if (!fresh) return;
    const current = folderIds();
    if (current.length === 1) fresh.querySelector(`a[data-folder-id="${Number(current[0])}"]`)?.setAttribute("aria-current", "page");
    rail.replaceWith(fresh);
  } catch { /* the next page load shows the new tree */ }
});
