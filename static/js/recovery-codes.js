// Recovery codes page: a "Copy" button (shown only when the clipboard is available).
const status = document.querySelector("[data-copy-status]");
for (const button of document.querySelectorAll("[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      if (status) status.textContent = button.dataset.copied;
    } catch {
      source.select(); // the user can still copy by hand
    }
  });
}
