// Mail account forms: the usual port follows the security choice, and a long server check
// says it is running (and is not sent twice).
const USUAL_PORTS = {
  imap_port: { tls: "993", starttls: "143", none: "143" },
  smtp_port: { tls: "465", starttls: "587", none: "587" },
};

for (const select of document.querySelectorAll("select[data-security-for]")) {
  const portName = select.dataset.securityFor;
  const port = select.form && select.form.elements.namedItem(portName);
  const usual = USUAL_PORTS[portName];
  if (!port || !usual) continue;
  select.addEventListener("change", () => {
    // Only an empty or usual port is changed: an unusual port the person typed stays.
    if (port.value === "" || Object.values(usual).includes(port.value)) port.value = usual[select.value];
  });
}

for (const form of document.querySelectorAll("form[data-busy-form]")) {
  form.addEventListener("submit", (event) => {
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("aria-busy", "true");
    const status = form.querySelector("[data-busy-status]");
    if (status) status.textContent = status.dataset.busyText || "";
  });
}
