// Directory of colleagues: search as you type. Asks the server for the results part only; without
// this module the search box still works through its Search button. Live presence needs nothing
// here: shell.js updates every `[data-presence-list] [data-user-id]` row on `ruche:presence`.
const form = document.querySelector("[data-directory-search]");
const results = document.querySelector("[data-directory-results]");

if (form && results) {
  const input = form.querySelector("input[name='q']");
  let timer = 0;
  let controller = null;

  async function refresh() {
    controller?.abort();
    controller = new AbortController();
    const url = new URL(form.action, window.location.href);
    if (input.value.trim()) url.searchParams.set("q", input.value);
    try {
      const response = await fetch(url, {
        headers: { "X-Ruche-Partial": "results" },
        signal: controller.signal,
        credentials: "same-origin",
      });
      if (!response.ok) return;
      results.innerHTML = await response.text();
      window.history.replaceState(null, "", url.pathname + url.search);
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 200);
  });
}
