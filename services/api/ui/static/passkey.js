// Passkeys (WebAuthn): a button with data-passkey="create" or "get" and the server's options in
// data-options asks the browser for a credential, puts its JSON in the form's hidden "passkey"
// field and submits the form. No inline script: the page's CSP allows only this file.
"use strict";

function fromB64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "===".slice((base64.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function withBuffers(options) {
  const out = Object.assign({}, options, { challenge: fromB64url(options.challenge) });
  if (options.user) out.user = Object.assign({}, options.user, { id: fromB64url(options.user.id) });
  for (const list of ["excludeCredentials", "allowCredentials"]) {
    if (options[list]) {
      out[list] = options[list].map((c) => Object.assign({}, c, { id: fromB64url(c.id) }));
    }
  }
  return out;
}

function asJson(credential, mode) {
  const r = credential.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (mode === "create") {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  return JSON.stringify({
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    response: response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment,
  });
}

for (const button of document.querySelectorAll("button[data-passkey]")) {
  button.addEventListener("click", async () => {
    const mode = button.dataset.passkey;
    const form = button.closest("form");
    const failed = form.querySelector(".passkey-error, #passkey-error");
    const publicKey = withBuffers(JSON.parse(button.dataset.options));
    try {
      const credential = mode === "create"
        ? await navigator.credentials.create({ publicKey })
        : await navigator.credentials.get({ publicKey });
      form.querySelector("input[name=passkey]").value = asJson(credential, mode);
      form.submit();
    } catch (error) {
      if (failed) failed.hidden = false;
    }
  });
}
