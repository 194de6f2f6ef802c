// Organization Settings → Partner: choosing "All numbers, now and later" ticks and locks the
// list (every number is shared then, whatever is ticked); "Only the numbers I select" gives the
// ticks back as they were. Without this script the server ignores the ticks in "All" mode too.
for (const form of document.querySelectorAll("form[data-sharing]")) {
  const boxes = [...form.querySelectorAll('input[name="channels"]')];
  const own = new Map(boxes.map((box) => [box, box.checked]));
  const show = () => {
    const all = form.querySelector('input[name="mode"][value="all"]').checked;
    for (const box of boxes) {
      if (all && !box.disabled) own.set(box, box.checked);
      box.checked = all ? true : own.get(box);
      box.disabled = all;
    }
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "mode") show();
  });
  show();
}
