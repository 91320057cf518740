// Contacts list: search as you type. Asks the server for the results part only; without this
// module the search box still works through its Search button.
const form = document.querySelector("[data-contacts-search]");
const results = document.querySelector("[data-contacts-results]");

if (form && results) {
  const input = form.querySelector("input[name='q']");
  let timer = 0;
  let controller = null;

  async function refresh() {
    controller?.abort();
    controller = new AbortController();
    const url = new URL(form.action, window.location.href);
    if (input.value.trim()) url.searchParams.set("q", input.value);
    // The results belong to the book on screen, whatever another tab chose since.
    const book = form.querySelector("input[name='book']")?.value;
    const shown = new URL(url);
    if (book) url.searchParams.set("book", book);
    // The personal book's address stays short (/contacts/?q=…); any other book keeps ?book=.
    if (book && !form.hasAttribute("data-short-url")) shown.searchParams.set("book", book);
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
