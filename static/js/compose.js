// The composer: address chips with suggestions, a small HTML editor, autosave (server + this
// browser), attachments with upload progress, etiquette questions, undo send. Also the
// "Scheduled" page (nothing to do there but the shared toast styles).
const root = document.querySelector("[data-compose]");

const labels = root?.querySelector("#compose-labels")?.content;
const label = (name) => labels?.querySelector(`[data-for="${name}"]`)?.textContent ?? name;

const encodedSize = (size) => {
  const chars = Math.ceil(size / 3) * 4;
  return chars + Math.floor(chars / 76) * 2;
};

const megabytes = (bytes) => `${(bytes / 1_000_000).toFixed(1)} MB`;

// --- addresses ---------------------------------------------------------------------------
// Splits a typed field on commas/semicolons outside quotes, angle brackets and comments.
export function splitAddresses(text) {
  const parts = [];
  let current = "";
  let quoted = false;
  let angle = 0;
  let comment = 0;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === "\\" && quoted) {
      current += ch + (text[i + 1] ?? "");
      i += 1;
      continue;
    }
    if (ch === '"' && !comment) quoted = !quoted;
    else if (!quoted && ch === "<") angle += 1;
    else if (!quoted && ch === ">") angle = Math.max(0, angle - 1);
    else if (!quoted && ch === "(") comment += 1;
    else if (!quoted && ch === ")") comment = Math.max(0, comment - 1);
    if ((ch === "," || ch === ";" || ch === "\n") && !quoted && !angle && !comment) {
      if (current.trim()) parts.push(current.trim());
      current = "";
      continue;
    }
    current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

// A light check (the server checks every form fully): something@domain.tld inside or alone.
const looksValid = (entry) => {
  const match = entry.match(/<([^<>]*)>\s*$/);
  const address = (match ? match[1] : entry).trim();
  return /^[^\s@<>,;]+@[^\s@<>,;.]+(\.[^\s@<>,;.]+)+$/u.test(address);
};

function chipField(hidden) {
  const wrapper = hidden.closest("[data-recipients]");
  const fieldLabel = wrapper.querySelector("label");
  const box = document.createElement("div");
  box.className = "chips";
  const list = document.createElement("ul");
  list.className = "chip-list";
  const entry = document.createElement("input");
  entry.className = "chip-entry";
  entry.id = hidden.id;
  hidden.id = `${hidden.id}-value`;
  entry.autocomplete = "off";
  entry.setAttribute("role", "combobox");
  entry.setAttribute("aria-autocomplete", "list");
  entry.setAttribute("aria-expanded", "false");
  const suggestions = document.createElement("ul");
  suggestions.className = "suggestions";
  suggestions.id = `${entry.id}-suggestions`;
  suggestions.setAttribute("role", "listbox");
  suggestions.hidden = true;
  entry.setAttribute("aria-controls", suggestions.id);
  hidden.type = "hidden";
  box.append(list, entry);
  wrapper.append(box, suggestions);
  fieldLabel.htmlFor = entry.id;

  const values = () => [...list.querySelectorAll("[data-value]")].map((chip) => chip.dataset.value);
  const sync = () => {
    hidden.value = values().join(", ");
    hidden.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const addChip = (value) => {
    const chip = document.createElement("li");
    chip.className = "chip";
    chip.dataset.value = value;
    const text = document.createElement("span");
    text.textContent = value;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `${label("remove")} ${value}`);
    remove.addEventListener("click", () => {
      chip.remove();
      sync();
      entry.focus();
    });
    if (!looksValid(value)) {
      chip.classList.add("invalid");
      chip.title = `${label("invalid")} ${value}`;
      text.textContent = `⚠ ${value}`;
    }
    chip.append(text, remove);
    list.append(chip);
  };
  const commit = () => {
    const parts = splitAddresses(entry.value);
    if (!parts.length) return;
    parts.forEach(addChip);
    entry.value = "";
    sync();
  };
  splitAddresses(hidden.value).forEach(addChip);

  let active = -1;
  let timer = 0;
  const close = () => {
    suggestions.hidden = true;
    suggestions.replaceChildren();
    entry.setAttribute("aria-expanded", "false");
    entry.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const choose = (item) => {
    entry.value = "";
    addChip(item.dataset.value);
    sync();
    close();
    entry.focus();
  };
  const highlight = (index) => {
    const items = [...suggestions.children];
    if (!items.length) return;
    active = (index + items.length) % items.length;
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === active)));
    entry.setAttribute("aria-activedescendant", items[active].id);
  };
  const suggest = async () => {
    const query = entry.value.trim();
    if (!query) return close();
    const response = await fetch(`${root.dataset.suggestUrl}?q=${encodeURIComponent(query)}`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok || entry.value.trim() !== query) return;
    const { results } = await response.json();
    suggestions.replaceChildren();
    results.forEach((result, i) => {
      const item = document.createElement("li");
      item.id = `${suggestions.id}-${i}`;
      item.setAttribute("role", "option");
      item.dataset.value = result.name ? `"${result.name.replaceAll('"', "")}" <${result.address}>` : result.address;
      item.textContent = result.label;
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(item);
      });
      suggestions.append(item);
    });
    suggestions.hidden = !results.length;
    entry.setAttribute("aria-expanded", String(Boolean(results.length)));
  };
  entry.addEventListener("input", () => {
    if (/[,;]\s*$/.test(entry.value) && !entry.value.includes('"')) commit();
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
  entry.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && !suggestions.hidden) {
      event.preventDefault();
      highlight(active + 1);
    } else if (event.key === "ArrowUp" && !suggestions.hidden) {
      event.preventDefault();
      highlight(active - 1);
    } else if (event.key === "Enter") {
      if (active >= 0 && !suggestions.hidden) {
        event.preventDefault();
        choose(suggestions.children[active]);
      } else if (entry.value.trim()) {
        event.preventDefault();
        commit();
      }
    } else if (event.key === "Escape") {
      close();
    } else if (event.key === "Backspace" && !entry.value && list.lastElementChild) {
      list.lastElementChild.remove();
      sync();
    }
  });
  entry.addEventListener("blur", () => {
    commit();
    setTimeout(close, 100);
  });
  return { commit };
}

// --- the composer ------------------------------------------------------------------------
function composer() {
  const form = root.querySelector("[data-compose-form]");
  const draftInput = form.querySelector("[data-draft-id]");
  const status = form.querySelector("[data-save-status]");
  const alert = root.querySelector("[data-compose-alert]");
  const text = form.querySelector("[data-text]");
  const rich = form.querySelector("[data-rich]");
  const htmlField = form.querySelector("[data-html-field]");
  const htmlToggle = form.querySelector("[data-html-toggle]");
  const editor = form.querySelector("[data-editor]");
  const plain = form.querySelector("[data-plain]");
  const localKey = root.dataset.localKey;
  const fields = [...form.querySelectorAll("[data-recipient-input]")].map(chipField);
  let attachUrl = root.dataset.attachUrl;
  let dirty = false;
  let saving = null;
  let sent = false;

  // The editor's starting HTML (sanitised by the server) comes as the text of an inert <template>.
  const initial = form.querySelector("[data-rich-initial]");
  rich.innerHTML = initial.content.textContent;

  const showAlert = (message) => {
    alert.textContent = message;
    alert.hidden = !message;
  };
  const syncHtml = () => {
    htmlField.value = htmlToggle.checked ? rich.innerHTML : "";
    if (htmlToggle.checked) text.value = rich.innerText;
  };
  const snapshot = () => {
    syncHtml();
    const data = {};
    for (const [name, value] of new FormData(form)) if (typeof value === "string") data[name] = value;
    return data;
  };

  // A copy in this browser survives a crash or a lost connection; restored when newer.
  const storeLocally = () => {
    if (sent) return;
    try {
      localStorage.setItem(localKey, JSON.stringify({ at: Date.now(), dirty, data: snapshot() }));
    } catch {
      /* storage full or disabled: the server copy remains */
    }
  };
  const restoreLocal = () => {
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(localKey) || "null");
    } catch {
      stored = null;
    }
    if (!stored?.dirty) return;
    const data = stored.data;
    for (const name of ["subject", "text"]) if (name in data) form.elements[name].value = data[name];
    if (data.html && htmlToggle.checked) rich.innerHTML = data.html;
    status.textContent = label("restored");
    dirty = true;
  };
  restoreLocal();

  const save = async () => {
    if (saving) return saving;
    status.textContent = label("saving");
    const body = new FormData(form);
    body.set("html", htmlToggle.checked ? rich.innerHTML : "");
    if (htmlToggle.checked) body.set("text", rich.innerText);
    saving = fetch(root.dataset.saveUrl, { method: "POST", body, headers: { Accept: "application/json" } })
      .then(async (response) => {
        if (!response.ok) throw new Error(response.statusText);
        const result = await response.json();
        draftInput.value = result.draft;
        attachUrl = result.attach_url;
        dirty = false;
        status.textContent = `${label("saved")} ${result.saved_at}`;
        showAlert(result.warning || "");
        if (location.pathname !== result.url) history.replaceState(null, "", result.url);
        storeLocally();
        return result;
      })
      .catch(() => {
        status.textContent = "";
        return null;
      })
      .finally(() => {
        saving = null;
      });
    return saving;
  };

  let saveTimer = 0;
  const changed = () => {
    dirty = true;
    storeLocally();
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 2000);
  };
  form.addEventListener("input", changed);
  rich.addEventListener("input", changed);

  // --- HTML mode
  const escapeHtml = (value) =>
    value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
  const textToRich = () => {
    rich.innerHTML = text.value
      .split("\n")
      .map((line) => (line ? `<div>${escapeHtml(line)}</div>` : "<div><br></div>"))
      .join("");
  };
  if (htmlToggle.checked && !rich.innerHTML && text.value) textToRich();
  htmlToggle.addEventListener("change", () => {
    if (htmlToggle.checked) {
      textToRich();
    } else {
      text.value = rich.innerText;
    }
    editor.hidden = !htmlToggle.checked;
    plain.hidden = htmlToggle.checked;
    changed();
  });
  editor.querySelectorAll("[data-command]").forEach((button) => {
    button.addEventListener("click", () => {
      rich.focus();
      const command = button.dataset.command;
      if (command === "createLink") {
        const url = prompt("URL", "https://");
        if (url && /^(https?:|mailto:)/i.test(url)) document.execCommand("createLink", false, url);
      } else if (command === "quote") {
        document.execCommand("formatBlock", false, "blockquote");
      } else {
        document.execCommand(command);
      }
      changed();
    });
  });

  // --- attachments
  const list = form.querySelector("[data-attachment-list]");
  const known = JSON.parse(document.getElementById("compose-attachments")?.textContent || "[]");
  const warnBytes = Number(root.dataset.warnBytes);
  const maxBytes = Number(root.dataset.maxBytes);
  let total = 0;
  const showAttachment = (item, attachment) => {
    item.replaceChildren();
    item.dataset.attachmentId = attachment.id;
    const name = document.createElement("span");
    name.className = "attachment-name";
    name.textContent = attachment.filename;
    const size = document.createElement("span");
    size.className = "muted small";
    size.textContent = ` ${megabytes(attachment.encoded_size)}`;
    item.append(name, size);
    if (attachment.encoded_size > warnBytes) {
      const warn = document.createElement("span");
      warn.className = "form-error small";
      warn.textContent = ` ${label("warn")}`;
      item.append(warn);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button secondary";
    remove.textContent = label("remove");
    remove.setAttribute("aria-label", `${label("remove")} ${attachment.filename}`);
    remove.addEventListener("click", async () => {
      const body = new FormData();
      body.set("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
      const response = await fetch(attachment.delete_url, { method: "POST", body });
      if (response.ok) {
        total -= attachment.encoded_size;
        item.remove();
      }
    });
    item.append(remove);
  };
  list.replaceChildren();
  for (const attachment of known) {
    const item = document.createElement("li");
    total += attachment.encoded_size;
    showAttachment(item, attachment);
    list.append(item);
  }

  const upload = async (file) => {
    const item = document.createElement("li");
    list.append(item);
    const size = encodedSize(file.size);
    if (total + size > maxBytes) {
      item.className = "form-error";
      item.textContent = `${label("too-big")} ${file.name} (${megabytes(size)} / ${megabytes(maxBytes)})`;
      return;
    }
    if (!draftInput.value) await save();
    if (!attachUrl) return;
    const progress = document.createElement("progress");
    progress.max = file.size || 1;
    progress.value = 0;
    const name = document.createElement("span");
    name.textContent = `${file.name} `;
    item.append(name, progress);
    total += size;
    const body = new FormData();
    body.set("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
    body.set("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", attachUrl);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = (event.loaded / event.total) * progress.max;
    });
    request.addEventListener("load", () => {
      let result = {};
      try {
        result = JSON.parse(request.responseText);
      } catch {
        result = { error: request.statusText };
      }
      if (request.status === 200) {
        showAttachment(item, result);
      } else {
        total -= size;
        item.className = "form-error";
        item.textContent = `${file.name}: ${result.error || request.statusText}`;
      }
    });
    request.addEventListener("error", () => {
      total -= size;
      item.className = "form-error";
      item.textContent = `${file.name}: ${request.statusText || "network error"}`;
    });
    request.send(body);
  };
  const input = form.querySelector("[data-file-input]");
  input.addEventListener("change", () => {
    [...input.files].forEach(upload);
    input.value = "";
  });
  const zone = form.querySelector("[data-dropzone]");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    [...(event.dataTransfer?.files || [])].forEach(upload);
  });

  // --- sending
  const dialog = root.querySelector("[data-nudges]");
  const dismissedInput = form.querySelector("[data-dismissed]");
  const toast = document.createElement("div");
  toast.className = "toast";
  toast.setAttribute("role", "status");
  toast.hidden = true;
  root.append(toast);

  const follow = async (result) => {
    const response = await fetch(result.status_url, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const state = await response.json();
    if (state.state === "queued" || state.state === "sending") {
      setTimeout(() => follow(result), 1000);
      return;
    }
    toast.replaceChildren();
    const words = document.createElement("span");
    if (state.state === "sent") {
      words.textContent = label("sent");
      toast.append(words);
    } else if (state.state === "failed") {
      words.textContent = `${label("failed")} ${state.error}`;
      toast.classList.add("error");
      toast.append(words);
      if (state.compose_url) {
        const link = document.createElement("a");
        link.href = state.compose_url;
        link.textContent = state.compose_url ? "↩" : "";
        link.className = "button secondary";
        link.setAttribute("aria-label", label("undo"));
        toast.append(link);
      }
    }
  };

  const showQueued = (result) => {
    sent = true;
    try {
      localStorage.removeItem(localKey);
    } catch {
      /* nothing stored */
    }
    form.hidden = true;
    toast.hidden = false;
    toast.replaceChildren();
    const words = document.createElement("span");
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "button secondary";
    undo.textContent = label("undo");
    undo.dataset.undo = "";
    undo.addEventListener("click", async () => {
      const body = new FormData();
      body.set("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
      const response = await fetch(result.undo_url, { method: "POST", body, headers: { Accept: "application/json" } });
      const answer = await response.json();
      if (response.ok) location.assign(answer.compose_url);
      else words.textContent = answer.error;
    });
    toast.append(words, undo);
    if (result.scheduled) {
      words.textContent = `${label("scheduled")} ${new Date(result.send_at).toLocaleString()}`;
      return;
    }
    let left = result.seconds;
    const tick = () => {
      words.textContent = `${label("sending")} ${left} s`;
      if (left <= 0) {
        undo.remove();
        follow(result);
        return;
      }
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
    undo.focus();
  };

  const send = async () => {
    fields.forEach((field) => field.commit());
    syncHtml();
    clearTimeout(saveTimer);
    const body = new FormData(form);
    const response = await fetch(root.dataset.sendUrl, {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
    });
    const result = await response.json().catch(() => ({ error: response.statusText }));
    if (result.draft) draftInput.value = result.draft;
    if (response.status === 409 && result.nudges) {
      const nudgeList = dialog.querySelector("[data-nudge-list]");
      nudgeList.replaceChildren(
        ...result.nudges.map((nudge) => {
          const item = document.createElement("li");
          item.textContent = nudge.text;
          item.dataset.nudge = nudge.key;
          return item;
        }),
      );
      dialog.dataset.keys = result.nudges.map((nudge) => nudge.key).join(",");
      dialog.showModal();
      return;
    }
    if (!response.ok) {
      showAlert(result.error || response.statusText);
      return;
    }
    showQueued(result);
  };
  dialog.querySelector("[data-nudge-send]").addEventListener("click", () => {
    dismissedInput.value = [dismissedInput.value, dialog.dataset.keys].filter(Boolean).join(",");
    dialog.close();
    send();
  });
  dialog.querySelector("[data-nudge-cancel]").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter?.hasAttribute("data-save")) {
      fields.forEach((field) => field.commit());
      save();
    } else {
      send();
    }
  });

  // The cursor: under nothing for a new message (To first), at the top of a reply (above the quote).
  const to = form.querySelector(".chip-entry");
  if (!form.elements.to.value) to?.focus();
  else if (!htmlToggle.checked) {
    text.focus();
    text.setSelectionRange(0, 0);
    text.scrollTop = 0;
  }
  window.addEventListener("beforeunload", () => {
    if (dirty && !sent) storeLocally();
  });
}

if (root) composer();
