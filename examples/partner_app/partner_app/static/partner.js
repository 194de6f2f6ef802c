// The example app's glue around the hub's connect.js (loaded before this file).
"use strict";

(function () {
  var connect = window.OnboardingConnect;

  // The opener: the link opens the hub in a popup; without connect.js it stays a plain link.
  var link = document.querySelector("a[data-connect]");
  var status = document.getElementById("connect-status");
  if (link && connect) {
    var answers = 0;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      status.textContent = "Waiting for your answer in the hub's window…";
      connect.open({
        url: link.href,
        origin: window.location.origin,
        onResult: function (result) {
          answers += 1;
          status.dataset.answers = String(answers);
          status.textContent = result.error
            ? "You cancelled on the hub: nothing was shared."
            : "Connected (verified by our server): client " + result.client + " shares " +
              result.channels.length + " number(s): " + result.channels.join(", ") + ".";
          document.getElementById("connect-continue").hidden = false;
        },
        onCancel: function () {
          status.textContent = "You closed the hub's window before answering: nothing changed.";
        },
      });
    });
  }

  // The callback page, in the popup: the server verified the callback before writing this.
  var carried = document.getElementById("connect-result");
  if (carried && connect) {
    var result = JSON.parse(carried.textContent);
    if (connect.finish(result, carried.dataset.origin)) {
      document.getElementById("popup-note").hidden = false;
    }
  }
})();
