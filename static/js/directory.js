// Directory of colleagues: search as you type. Live presence needs nothing here: shell.js updates
// every `[data-presence-list] [data-user-id]` row on `ruche:presence`.
import { liveSearch } from "./live-search.js";

liveSearch(document.querySelector("[data-directory-search]"), document.querySelector("[data-directory-results]"));
