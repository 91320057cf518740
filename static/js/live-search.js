// Search as you type for a page's search form: asks the server for the results part only
// (X-Ruche-Partial: results) and keeps the address bar in step. Without JavaScript the form
// still works through its Search button.
// `adjust(url, shown)` may add parameters to the request (`url`) and to the address bar (`shown`).
export function liveSearch(form, results, adjust = () => {}) {
  if (!form || !results) return;
  const input = form.querySelector("input[name='q']");
  let timer = 0;
  let controller = null;

  async function refresh() {
    controller?.abort();
    controller = new AbortController();
    const url = new URL(form.action, window.location.href);
    if (input.value.trim()) url.searchParams.set("q", input.value);
    const shown = new URL(url);
    adjust(url, shown);
    try {
      const response = await fetch(url, {
        headers: { "X-Ruche-Partial": "results" },
        signal: controller.signal,
        credentials: "same-origin",
      });
      if (!response.ok) return;
      results.innerHTML = await response.text();
      window.history.replaceState(null, "", shown.pathname + shown.search);
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 200);
  });
}
