/*
 * connect.js: the hub's permission screen in a popup, for a partner's web app. Plain ES2017, no
 * dependency, no build step; load it from the hub: <script src="https://<hub>/static/connect.js">.
 *
 * Opener (the partner's page):
 *
 *   OnboardingConnect.open({
 *     url: signedPermissionLink,        // from your server (its state tied to your user)
 *     origin: "https://app.partner.example",  // the origin of your callback page; default: this page's
 *     onResult: (result) => { ... },    // what your callback page handed back with finish()
 *     onCancel: () => { ... },          // the popup was closed before an answer came
 *   });
 *
 * When the browser blocks the popup, open() sends this window to the link instead (the plain
 * redirect, which stays the default for a link without JavaScript) and returns null.
 *
 * Callback page (your redirect URL, in the popup), only after YOUR SERVER verified the callback:
 *
 *   OnboardingConnect.finish(result, "https://app.partner.example");  // the opener's origin
 *
 * finish() posts to that exact origin and never to "*"; it returns false when there is no opener
 * (the plain redirect): then the page itself is the answer. The opener accepts a message only from
 * the expected origin AND from the popup it opened, and only in the shape finish() sends; it
 * ignores everything else. The callback's signature is the partner's server's business: nothing
 * here makes an unverified callback trustworthy.
 */
(function () {
  "use strict";

  var MESSAGE_TYPE = "onboarding-connect:result";
  var POLL_MS = 400;
  var POPUP_NAME = "onboarding-connect";
  // The wait of the last open(): a second open() reuses the named popup, so the first wait ends
  // (silently) rather than answer the same message twice.
  var waiting = null;

  // An origin as the browser reports it in MessageEvent.origin: scheme://host[:port], exactly.
  function exactOrigin(value) {
    var parsed;
    try {
      parsed = new URL(value);
    } catch (error) {
      parsed = null;
    }
    if (typeof value !== "string" || parsed === null || parsed.origin !== value) {
      throw new TypeError(
        "OnboardingConnect: origin must be an exact origin such as https://app.example, not " +
          JSON.stringify(value),
      );
    }
    return value;
  }

  function isPlainObject(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }

  // The result inside a message from finish(), or undefined for anything else.
  function resultOf(data) {
    if (!isPlainObject(data) || data.type !== MESSAGE_TYPE || data.version !== 1) return undefined;
    return isPlainObject(data.result) ? data.result : undefined;
  }

  function popupFeatures(width, height) {
    var left = Math.max(0, Math.round(window.screenX + (window.outerWidth - width) / 2));
    var top = Math.max(0, Math.round(window.screenY + (window.outerHeight - height) / 2));
    return "popup=yes,width=" + width + ",height=" + height + ",left=" + left + ",top=" + top;
  }

  function open(options) {
    if (!options || typeof options.url !== "string" || options.url === "") {
      throw new TypeError("OnboardingConnect.open: url is required");
    }
    if (typeof options.onResult !== "function") {
      throw new TypeError("OnboardingConnect.open: onResult must be a function");
    }
    var expected = exactOrigin(options.origin || window.location.origin);
    var onCancel = typeof options.onCancel === "function" ? options.onCancel : function () {};

    if (waiting !== null) waiting();
    var popup = window.open(
      options.url,
      POPUP_NAME,
      popupFeatures(options.width || 520, options.height || 720),
    );
    if (!popup) {
      // Blocked: the plain redirect, as a link without JavaScript; the callback arrives here.
      window.location.assign(options.url);
      return null;
    }

    var settled = false;
    var timer = null;
    function settle() {
      settled = true;
      window.removeEventListener("message", onMessage);
      if (timer !== null) window.clearInterval(timer);
      if (waiting === settle) waiting = null;
    }
    function onMessage(event) {
      // Another origin (a third site, or the hub's own pages in the popup), another window
      // (even of this origin), or another shape: not the answer.
      if (settled || event.origin !== expected || event.source !== popup) return;
      var result = resultOf(event.data);
      if (result === undefined) return;
      settle();
      popup.close();
      options.onResult(result);
    }
    // No event tells an opener that its popup was closed: look.
    timer = window.setInterval(function () {
      if (!settled && popup.closed) {
        settle();
        onCancel();
      }
    }, POLL_MS);
    window.addEventListener("message", onMessage);
    waiting = settle;
    if (typeof popup.focus === "function") popup.focus();

    return {
      popup: popup,
      // Give up waiting (e.g. the user left the page's step): closes the popup, calls nothing.
      cancel: function () {
        if (settled) return;
        settle();
        popup.close();
      },
    };
  }

  function finish(result, origin) {
    if (!isPlainObject(result)) {
      throw new TypeError("OnboardingConnect.finish: result must be an object");
    }
    var target = exactOrigin(origin);
    var opener = window.opener;
    if (!opener || opener.closed) return false;
    opener.postMessage({ type: MESSAGE_TYPE, version: 1, result: result }, target);
    return true;
  }

  window.OnboardingConnect = Object.freeze({ open: open, finish: finish });
})();
