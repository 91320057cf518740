// Reply with only the selected text: when text of the open message is selected (the plain-text
// body in the page, or the sandboxed same-origin HTML frame), Reply / Reply all (click, Enter,
// or the r / a shortcuts, which click the link) carry it as `quote`; the composer quotes only that.

const KINDS = new Set(["reply", "reply_all"]);
// uvicorn refuses request lines over ~16 KB: a long selection is cut to fit, at a line end if it can.
const MAX_URL = 12000;

function selectedIn(selection, container) {
  if (!selection || selection.isCollapsed || !selection.rangeCount) return "";
  const range = selection.getRangeAt(0);
  if (container && !container.contains(range.commonAncestorContainer)) return "";
  return selection.toString().trim();
}

function currentSelection(link) {
  const reader = link.closest("[data-reader]") || document;
  const text = reader.querySelector(".body-text");
  const inPage = text ? selectedIn(window.getSelection(), text) : "";
  if (inPage) return inPage;
  const frame = reader.querySelector("iframe.body-frame");
  try {
    return selectedIn(frame?.contentWindow?.getSelection(), null);
  } catch {
    return ""; // a frame we cannot read: reply with the whole message
  }
}

function withQuote(href, quote) {
  const url = new URL(href, window.location.href);
  let text = quote;
  url.searchParams.set("quote", text);
  while (url.href.length > MAX_URL && text) {
    const cut = text.slice(0, Math.floor(text.length * 0.8));
    const lineEnd = cut.lastIndexOf("\n");
    text = lineEnd > cut.length / 2 ? cut.slice(0, lineEnd) : cut;
    url.searchParams.set("quote", text);
  }
  return url.href;
}

function isReplyLink(target) {
  const link = target instanceof Element ? target.closest("a[data-reply-link]") : null;
  if (!link) return null;
  const kind = new URL(link.href, window.location.href).searchParams.get("kind");
  return KINDS.has(kind) ? link : null;
}

// A mouse press on the link collapses the page's selection before "click": keep it from the press.
let pressed = { link: null, text: "" };
document.addEventListener("pointerdown", (event) => {
  const link = isReplyLink(event.target);
  pressed = link ? { link, text: currentSelection(link) } : { link: null, text: "" };
}, true);

document.addEventListener("click", (event) => {
  const link = isReplyLink(event.target);
  if (!link) return;
  const text = pressed.link === link && pressed.text ? pressed.text : currentSelection(link);
  pressed = { link: null, text: "" };
  const url = new URL(link.href, window.location.href);
  if (text) link.href = withQuote(url.href, text);
  else if (url.searchParams.has("quote")) {
    url.searchParams.delete("quote"); // a quote from an earlier selection must not stick
    link.href = url.href;
  }
}, true);
