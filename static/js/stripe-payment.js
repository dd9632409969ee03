// The Stripe payment step: mounts the Payment Element and confirms the PaymentIntent
// (manual capture: the card is only authorized). Stripe then sends the browser to the
// return URL, where the server checks the PaymentIntent.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || !window.Stripe) { return; }
  var stripe = window.Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  var message = document.getElementById("payment-message");
  var button = document.getElementById("payment-submit");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.hidden = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        if (result.error) { // otherwise the browser is already on its way to the return URL
          message.textContent = result.error.message;
          message.hidden = false;
          button.disabled = false;
        }
      });
  });
})();
