// Starts Swagger UI on /api/docs/swagger (a file, not an inline script, for the hub's CSP).
// BaseLayout: no top bar (its URL box and button had no label); no deep links, whose anchors
// inside each operation's button were links within a button for screen readers.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.url, window.location.href).href,
    dom_id: "#swagger-ui",
    deepLinking: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    onComplete: label,
  });
});

// Names for the two controls Swagger UI leaves unnamed.
function label() {
  var servers = document.getElementById("servers");
  if (servers) servers.setAttribute("aria-label", "Server");
  document.querySelectorAll(".dark-mode-toggle button").forEach(function (button) {
    button.setAttribute("aria-label", "Dark mode");
  });
}
