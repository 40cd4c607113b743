/* Passkeys for the demo site: turns the platform's WebAuthn options (JSON, binary fields as
   base64url) into what navigator.credentials expects, and the browser's answer back into
   JSON for the platform. Each [data-passkey] block holds its button, its CSRF token and an
   element for errors (role=alert, so a screen reader announces them). */
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }

  function creationOptions(options) {
    var o = Object.assign({}, options.publicKey || options);
    o.challenge = toBytes(o.challenge);
    o.user = Object.assign({}, o.user, { id: toBytes(o.user.id) });
    o.excludeCredentials = withIds(o.excludeCredentials);
    return o;
  }

  function requestOptions(options) {
    var o = Object.assign({}, options.publicKey || options);
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = withIds(o.allowCredentials);
    return o;
  }

  function attestation(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toText(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment,
      response: {
        clientDataJSON: toText(r.clientDataJSON), attestationObject: toText(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      }
    };
  }

  function assertion(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toText(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment,
      response: {
        authenticatorData: toText(r.authenticatorData), clientDataJSON: toText(r.clientDataJSON),
        signature: toText(r.signature), userHandle: r.userHandle ? toText(r.userHandle) : null
      }
    };
  }

  function post(block, url, body) {
    var token = block.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || "Something went wrong. Please try again."); }
        return data;
      });
    });
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Please try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    if (error && error.name === "SecurityError") {
      return "Passkeys are not available on this address.";
    }
    return (error && error.message) || "Something went wrong. Please try again.";
  }

  function run(block) {
    var kind = block.getAttribute("data-passkey");
    var button = block.querySelector(".passkey-go");
    var alertBox = block.querySelector(".passkey-error");
    var nameInput = block.querySelector("input[name=name]");
    if (!window.PublicKeyCredential) {
      alertBox.textContent = "This browser does not support passkeys.";
      alertBox.hidden = false;
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      alertBox.hidden = true;
      alertBox.textContent = "";
      var body = nameInput ? { name: nameInput.value } : {};
      post(block, block.getAttribute("data-options-url"), body).then(function (data) {
        if (kind === "register") {
          return navigator.credentials.create({ publicKey: creationOptions(data.options) }).then(attestation);
        }
        return navigator.credentials.get({ publicKey: requestOptions(data.options) }).then(assertion);
      }).then(function (answer) {
        return post(block, block.getAttribute("data-verify-url"), answer);
      }).then(function (result) {
        window.location.assign(result.redirect);
      }).catch(function (error) {
        alertBox.textContent = explain(error);
        alertBox.hidden = false;
        button.disabled = false;
      });
    });
  }

  document.querySelectorAll("[data-passkey]").forEach(run);
})();
