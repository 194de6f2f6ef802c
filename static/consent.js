// "Select all" on the consent screen: ticks or clears every number; reflects partial selections.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  const boxes = [...document.querySelectorAll('input[name="channels"]')];
  const sync = () => {
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  };
  all.closest("label").hidden = false;
  all.addEventListener("change", () => {
    boxes.forEach((box) => { box.checked = all.checked; });
    sync();
  });
  boxes.forEach((box) => box.addEventListener("change", sync));
  sync();
});
