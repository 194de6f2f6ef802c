// Copy buttons: <button type="button" data-copy="#element-id">Copy</button> copies the element's
// text (or an input's value) and says so for screen readers too.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select and copy";
  }
  button.setAttribute("aria-live", "polite");
});
