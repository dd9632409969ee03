// TEST-ONLY stand-in for the parts of Stripe.js that the payment page uses, for the browser
// tests against localstripe (whose own fake Stripe.js has no Payment Element). It is served
// by a test server (e2e/test_card_payment_journey.py) and never shipped with the site.
//
// - Stripe(publishableKey).elements({clientSecret}).create("payment").mount(selector): a card
//   form (number, expiry, CVC) in the page, as plain inputs, firing "ready" once mounted;
// - stripe.confirmPayment({elements, confirmParams: {return_url}}): creates the card's
//   PaymentMethod at localstripe, attaches it to the PaymentIntent named by the client
//   secret and confirms it; on success the browser goes to return_url, as Stripe.js does, and
//   on failure it resolves to {error} with Stripe's message.
//
// The test server that serves this script also stands in front of localstripe as "Stripe's
// API" (the site's STRIPE_API_BASE), adding the CORS headers localstripe lacks. localstripe
// accepts only secret-key authentication for these calls, so the stand-in sends a made-up
// secret key (localstripe checks nothing but its prefix). Real Stripe.js uses the publishable
// key and the client secret.
(function () {
  "use strict";
  var API = new URL(document.currentScript.src).origin;
  var KEY = "sk_test_browser_standin";

  function call(path, params) {
    return fetch(API + path, {
      method: "POST",
      headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params || {}).toString()
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw (body && body.error) || { message: "The payment could not be completed." }; }
        return body;
      });
    });
  }

  function field(root, id, label, autocomplete) {
    var wrapper = document.createElement("div");
    wrapper.className = "mb-2";
    var caption = document.createElement("label");
    caption.className = "form-label small";
    caption.htmlFor = id;
    caption.textContent = label;
    var input = document.createElement("input");
    input.className = "form-control";
    input.id = id;
    input.autocomplete = autocomplete;
    input.inputMode = "numeric";
    wrapper.appendChild(caption);
    wrapper.appendChild(input);
    root.appendChild(wrapper);
    return input;
  }

  window.Stripe = function (publishableKey) {
    if (!/^pk_/.test(publishableKey || "")) { throw new Error("Stripe(): a publishable key (pk_...) is required"); }
    return {
      elements: function (options) {
        if (!options || !options.clientSecret) { throw new Error("elements(): clientSecret is required"); }
        var inputs = {};
        return {
          clientSecret: options.clientSecret,
          inputs: inputs,
          create: function (type) {
            if (type !== "payment") { throw new Error("the stand-in only has the Payment Element"); }
            var handlers = {};
            return {
              on: function (name, handler) { handlers[name] = handler; },
              mount: function (selector) {
                var root = document.querySelector(selector);
                inputs.number = field(root, "standin-card-number", "Card number", "cc-number");
                inputs.expiry = field(root, "standin-card-expiry", "Expiry (MM / YY)", "cc-exp");
                inputs.cvc = field(root, "standin-card-cvc", "CVC", "cc-csc");
                if (handlers.ready) { window.setTimeout(handlers.ready, 0); }  // as Stripe's element does
              }
            };
          }
        };
      },
      confirmPayment: function (options) {
        var elements = options.elements;
        var intent = elements.clientSecret.split("_secret_")[0];
        var expiry = elements.inputs.expiry.value.split("/").map(function (part) { return part.trim(); });
        return call("/v1/payment_methods", {
          type: "card",
          "card[number]": elements.inputs.number.value.replace(/\s+/g, ""),
          "card[exp_month]": expiry[0] || "",
          "card[exp_year]": "20" + (expiry[1] || ""),
          "card[cvc]": elements.inputs.cvc.value
        }).then(function (method) {
          return call("/v1/payment_intents/" + intent, { payment_method: method.id });
        }).then(function () {
          return call("/v1/payment_intents/" + intent + "/confirm");
        }).then(function () {
          window.location.assign(options.confirmParams.return_url + "?payment_intent=" + intent +
                                 "&redirect_status=succeeded");
          return {};
        }, function (error) {
          return { error: error };
        });
      }
    };
  };
})();
