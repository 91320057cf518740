// Contacts list: search as you type, in the book on screen.
import { liveSearch } from "./live-search.js";

const form = document.querySelector("[data-contacts-search]");
liveSearch(form, document.querySelector("[data-contacts-results]"), (url, shown) => {
  // The results belong to the book on screen, whatever another tab chose since.
  const book = form.querySelector("input[name='book']")?.value;
  if (book) url.searchParams.set("book", book);
  // The personal book's address stays short (/contacts/?q=…); any other book keeps ?book=.
  if (book && !form.hasAttribute("data-short-url")) shown.searchParams.set("book", book);
});
