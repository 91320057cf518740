// Security-key ceremonies for the MFA pages. Each button says what it does:
//   data-webauthn="create" | "get"    the ceremony
//   data-webauthn-form                 id of the form whose hidden "credential" input receives the answer
//   data-webauthn-data                 id of the json_script block with the server's options
//   data-webauthn-error                id of the element that tells the user it failed
// The binary fields are converted by webauthn-json (allauth's copy, loaded before this module).

function options(button) {
  return JSON.parse(document.getElementById(button.dataset.webauthnData).textContent);
}

function creationOptions(form, data) {
  const creation = structuredClone(data.creation_options);
  const passwordless = form.querySelector('input[name="passwordless"]');
  if (passwordless) {
    // Same rule as the server applies to a passwordless key (a passkey).
    const selection = creation.publicKey.authenticatorSelection || {};
    selection.residentKey = passwordless.checked ? "required" : "discouraged";
    selection.requireResidentKey = passwordless.checked;
    if (passwordless.checked) selection.userVerification = "required";
    creation.publicKey.authenticatorSelection = selection;
  }
  return creation;
}

async function ceremony(button) {
  const json = window.webauthnJSON;
  const form = document.getElementById(button.dataset.webauthnForm);
  const data = options(button);
  if (button.dataset.webauthn === "create") return { form, credential: await json.create(creationOptions(form, data)) };
  return { form, credential: await json.get(data.request_options) };
}

function showError(button, show) {
  const box = document.getElementById(button.dataset.webauthnError || "");
  if (!box) return;
  box.textContent = show ? box.dataset.message : "";
  box.hidden = !show;
}

for (const button of document.querySelectorAll("[data-webauthn]")) {
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    showError(button, false);
    button.disabled = true;
    try {
      const { form, credential } = await ceremony(button);
      form.querySelector('input[name="credential"]').value = JSON.stringify(credential);
      form.submit();
    } catch (error) {
      button.disabled = false;
      showError(button, true);
      console.warn("WebAuthn:", error);
    }
  });
}

// Passkey sign-in from the login page (only present when passkey login is enabled).
const loginForm = document.querySelector("[data-webauthn-login-form]");
const loginButton = document.getElementById("passkey_login");
loginButton?.addEventListener("click", async (event) => {
  event.preventDefault();
  try {
    const response = await fetch(loginForm.action, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    const data = await response.json();
    loginForm.querySelector('input[name="credential"]').value = JSON.stringify(await window.webauthnJSON.get(data.request_options));
    loginForm.submit();
  } catch (error) {
    console.warn("WebAuthn:", error);
  }
});
