// The consent screen: "Select all", the "All numbers" lock, and a button that says what Allow
// does. Without this script the server does the same on every submit (All shares every number).
// The button's words come with the page (data-share-one, …, in the page's language), so the
// script needs no catalog of its own.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("consent");
  if (!form) return;
  const boxes = [...form.querySelectorAll('input[name="channels"]')];
  const all = document.getElementById("select-all");
  const every = document.getElementById("mode-all");
  const only = document.getElementById("mode-only");
  const effect = document.getElementById("effect");
  const chosenCount = document.getElementById("chosen-count");
  const lang = document.documentElement.lang || "en";
  const number = (value) => Number(value).toLocaleString(lang);
  // gettext's plural forms of de and pt-BR agree with CLDR's, which Intl.PluralRules applies.
  const plurals = new Intl.PluralRules(lang);
  const words = form.dataset;
  const counted = (what, count) => {
    const kind = plurals.select(count) === "one" ? "One" : "Other";
    return words[what + kind].replace("{n}", number(count));
  };
  // The client's own ticks, kept while "All numbers" shows every box ticked.
  const own = new Map(boxes.map((box) => [box, box.dataset.chosen === "1"]));

  const describe = (box, losing) => {
    const note = document.getElementById(`note-${box.value}`);
    if (note) note.hidden = !losing;
    const ids = [`status-${box.value}`].concat(losing ? [`note-${box.value}`] : []);
    box.setAttribute("aria-describedby", ids.join(" "));
  };

  const update = () => {
    const locked = every && every.checked;
    let share = Number(form.dataset.shareUnlisted);
    let remove = Number(form.dataset.removeUnlisted);
    boxes.forEach((box) => {
      const losing = !locked && !box.checked && box.dataset.shared === "1";
      if (box.checked) share += 1;
      if (losing) remove += 1;
      describe(box, losing);
    });
    if (locked) { share = Number(form.dataset.total); remove = 0; }
    effect.textContent = (share ? counted("share", share) : words.shareNone)
      + (remove ? ` · ${counted("remove", remove)}` : "");
    if (chosenCount) chosenCount.textContent = number(share);
    if (all) {
      const ticked = boxes.filter((box) => box.checked).length;
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
      all.closest("label").hidden = locked;
    }
  };

  const lock = () => {
    const locked = every && every.checked;
    boxes.forEach((box) => {
      if (locked) {
        if (!box.disabled) own.set(box, box.checked);
        box.checked = true;
      } else if (box.disabled) {
        box.checked = own.get(box);
      }
      box.disabled = locked;
    });
    update();
  };

  if (all) {
    all.addEventListener("change", () => {
      boxes.forEach((box) => { box.checked = all.checked; });
      update();
    });
  }
  boxes.forEach((box) => box.addEventListener("change", update));
  [every, only].forEach((radio) => radio && radio.addEventListener("change", lock));
  // Enter on a box or a radio does nothing here (the server side redraws the screen instead).
  form.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && target instanceof HTMLInputElement
        && (target.type === "checkbox" || target.type === "radio")) {
      event.preventDefault();
    }
  });
  // Server-rendered with "All numbers": every box shows ticked; the own ticks are in data-chosen.
  if (every && every.checked) boxes.forEach((box) => { box.disabled = true; });
  lock();
});
