// Filters page and rule editor: show only the fields a choice needs, add condition/action rows.
// Without this module every field shows and one blank row of each kind is there to fill.

const ARGUMENT_KINDS = new Set(["move", "copy", "forward", "reject"]);

function syncRow(row) {
  const field = row.querySelector("select[name$='-field']");
  if (field) {
    for (const box of row.querySelectorAll("[data-show-for-field]")) {
      box.hidden = box.dataset.showForField !== field.value;
    }
    const match = row.querySelector("select[name$='-match']");
    if (match) {
      const sizes = field.value === "size";
      for (const option of match.options) {
        option.hidden = sizes !== (option.value === "over" || option.value === "under");
      }
      if (match.selectedOptions[0]?.hidden) match.value = sizes ? "over" : "contains";
    }
  }
  const kind = row.querySelector("select[name$='-kind']");
  if (kind) {
    for (const box of row.querySelectorAll("[data-show-for-kind]")) {
      box.hidden = box.dataset.showForKind !== kind.value;
    }
    const argument = row.querySelector("[data-argument]");
    const input = argument?.querySelector("input");
    if (argument && input) {
      argument.hidden = kind.value !== "" && !ARGUMENT_KINDS.has(kind.value);
      if (kind.value === "move" || kind.value === "copy") input.setAttribute("list", "filter-folders");
      else input.removeAttribute("list");
      input.type = kind.value === "forward" ? "email" : "text";
    }
  }
}

function addRow(prefix) {
  const list = document.querySelector(`[data-rows="${prefix}"]`);
  const total = document.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const max = document.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`);
  const rows = list?.querySelectorAll("[data-row]");
  if (!list || !total || !rows?.length || Number(total.value) >= Number(max?.value || 20)) return;
  const index = Number(total.value);
  const copy = rows[rows.length - 1].cloneNode(true);
  for (const element of copy.querySelectorAll("[name], [id], [for], [aria-describedby]")) {
    for (const attribute of ["name", "id", "for", "aria-describedby"]) {
      const value = element.getAttribute(attribute);
      if (value) element.setAttribute(attribute, value.replace(new RegExp(`${prefix}-\\d+-`, "g"), `${prefix}-${index}-`));
    }
    if (element.matches("input[type=text], input[type=email], input:not([type])")) element.value = "";
    if (element.matches("input[type=checkbox]")) element.checked = false;
  }
  for (const error of copy.querySelectorAll(".errorlist")) error.remove();
  list.append(copy);
  total.value = String(index + 1);
  syncRow(copy);
  copy.querySelector("select, input")?.focus();
}

for (const row of document.querySelectorAll("[data-row]")) syncRow(row);
document.addEventListener("change", (event) => {
  const row = event.target.closest?.("[data-row]");
  if (row) syncRow(row);
});
for (const button of document.querySelectorAll("[data-add-row]")) {
  button.hidden = false;
  button.addEventListener("click", () => addRow(button.dataset.addRow));
}
// Buttons with data-confirm ask first (deleting a filter, replacing a script).
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
