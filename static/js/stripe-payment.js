// The Stripe payment step: mounts the Payment Element and confirms the PaymentIntent
// (manual capture: the card is only authorized). Stripe then sends the browser to the
// return URL, where the server checks the PaymentIntent.
//
// It fails loudly: if Stripe.js does not load within a few seconds (blocked by an extension
// or a network filter) or throws, the page says so; an error from confirmPayment is shown in
// the alert region and the button works again; the form never submits itself natively. When
// Stripe refuses because the order was paid meanwhile (another tab), the server is asked and
// the page says it is paid.
(function () {
  "use strict";
  var LOAD_TIMEOUT_MS = 6000;
  var form = document.getElementById("payment-form");
  if (!form) { return; }
  var message = document.getElementById("payment-message");
  var loading = document.getElementById("payment-loading");
  var button = document.getElementById("payment-submit");
  var script = document.currentScript;
  var support = (script && script.dataset.supportUrl) || "/support/";
  var stripe = null;
  var elements = null;

  function say(text, linkText, linkUrl) {
    message.textContent = text;
    if (linkText) {
      var link = document.createElement("a");
      link.href = linkUrl;
      link.textContent = linkText;
      message.appendChild(document.createTextNode(" "));
      message.appendChild(link);
    }
    message.hidden = false;
    message.focus();
  }

  function cannotLoad(reason) {
    loading.hidden = true;
    button.disabled = true;
    say("The card form could not load: " + reason + ". Reload the page to try again, or write to", "support", support);
  }

  function alreadyPaid() {
    form.querySelectorAll("#payment-element, #payment-submit").forEach(function (node) { node.hidden = true; });
    message.className = "alert alert-success";
    say("This case is already paid: your card is authorized.", "See the order", form.dataset.orderUrl);
  }

  function closedCase(text) {
    form.querySelectorAll("#payment-element, #payment-submit").forEach(function (node) { node.hidden = true; });
    message.className = "alert alert-warning";
    say(text, "See the order", form.dataset.orderUrl);
  }

  function refused(error) {
    var text = (error && error.message) || "The payment could not be completed.";
    // Stripe refuses a PaymentIntent that is no longer waiting for a card: paid in another tab?
    return fetch(form.dataset.checkUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { paid: false }; })
      .catch(function () { return { paid: false }; })
      .then(function (state) {
        if (state.paid) { alreadyPaid(); return; }
        if (state.closed) { closedCase(state.message); return; }
        message.className = "alert alert-danger";
        say(text);
        button.disabled = false;
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!stripe || !elements) { return; }
    button.disabled = true;
    message.hidden = true;
    var confirmation;
    try {
      confirmation = stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } });
    } catch (error) {
      refused(error);
      return;
    }
    Promise.resolve(confirmation).then(function (result) {
      if (result && result.error) { refused(result.error); } // otherwise the browser is on its way to the return URL
    }, refused);
  });

  function mount() {
    var card;
    try {
      stripe = window.Stripe(form.dataset.publishableKey);
      elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
      card = elements.create("payment");
      // Stripe reports a Payment Element that cannot load (a bad secret, a blocked frame, the
      // network) through "loaderror", and a usable one through "ready".
      card.on("ready", function () { loading.hidden = true; button.disabled = false; });
      card.on("loaderror", function (event) {
        stripe = elements = null;
        cannotLoad((event && event.error && event.error.message) || "the card form did not load");
      });
      card.mount("#payment-element");
    } catch (error) {
      stripe = elements = null;
      cannotLoad((error && error.message) || "Stripe.js failed");
    }
  }

  var started = Date.now();
  (function waitForStripe() {
    if (typeof window.Stripe === "function") { mount(); return; }
    if (Date.now() - started > LOAD_TIMEOUT_MS) { cannotLoad("Stripe.js did not load (blocked by the browser or the network?)"); return; }
    window.setTimeout(waitForStripe, 100);
  })();
})();
