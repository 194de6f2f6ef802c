// Test driver: runs static/connect.js in node:vm against fake windows (an opener, its popup, other
// windows) and prints one JSON object: for each scenario, what the script did. The assertions are
// in tests/test_connect_js.py; nothing is decided here.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SOURCE = fs.readFileSync(path.join(__dirname, "..", "static", "connect.js"), "utf8");
const PARTNER = "https://app.partner.example";
const HUB = "https://hub.example";
const THIRD = "https://evil.example";
const LINK = `${HUB}/partners/pa_1/permission?state=s1&sig=00`;
const RESULT = { client: "cl_1", channels: ["ch_1"], consent: "cs_1" };
const MESSAGE = { type: "onboarding-connect:result", version: 1, result: RESULT };

// A window as far as connect.js uses it. Timers run only when the scenario says `tick()`.
function fakeWindow(origin) {
  const listeners = new Set();
  const timers = new Map();
  let nextTimer = 1;
  return {
    location: { origin, assigned: [], assign(url) { this.assigned.push(url); } },
    screenX: 0, screenY: 0, outerWidth: 1280, outerHeight: 800,
    closed: false, opener: null, opened: [], posted: [], focused: 0,
    popupToReturn: null,
    open(url, name, features) {
      this.opened.push({ url, name, features });
      return this.popupToReturn;
    },
    close() { this.closed = true; },
    focus() { this.focused += 1; },
    addEventListener(type, listener) { if (type === "message") listeners.add(listener); },
    removeEventListener(type, listener) { if (type === "message") listeners.delete(listener); },
    listening() { return listeners.size; },
    receive(event) { for (const listener of [...listeners]) listener(event); },
    setInterval(fn) { timers.set(nextTimer, fn); return nextTimer++; },
    clearInterval(id) { timers.delete(id); },
    timers() { return timers.size; },
    tick() { for (const fn of [...timers.values()]) fn(); },
    postMessage(data, targetOrigin) { this.posted.push({ data, targetOrigin }); },
  };
}

function load(win) {
  // Only what a browser page has and connect.js uses; URL is the WHATWG URL, as in browsers.
  vm.runInContext(SOURCE, vm.createContext({ window: win, URL }), { filename: "connect.js" });
  return win.OnboardingConnect;
}

// An opener with connect.js and a popup that window.open will return; `calls` records callbacks.
function opened(options = {}) {
  const opener = fakeWindow(PARTNER);
  const popup = fakeWindow(HUB);
  opener.popupToReturn = popup;
  const calls = { results: [], cancels: 0 };
  const connect = load(opener);
  const handle = connect.open({
    url: LINK,
    origin: PARTNER,
    onResult: (result) => calls.results.push(result),
    onCancel: () => { calls.cancels += 1; },
    ...options,
  });
  return { opener, popup, calls, handle };
}

// A copy as things are now (later steps must not change what was recorded).
function state({ opener, popup, calls }) {
  return snapshot({
    results: calls.results,
    cancels: calls.cancels,
    popup_closed: popup.closed,
    listening: opener.listening(),
    timers: opener.timers(),
    assigned: opener.location.assigned,
  });
}

function snapshot(value) {
  return JSON.parse(JSON.stringify(value));
}

function thrown(fn) {
  try {
    fn();
    return null;
  } catch (error) {
    return { name: error.name, message: error.message };
  }
}

const scenarios = {
  opens_popup() {
    const world = opened();
    return { ...state(world), opened: world.opener.opened, focused: world.popup.focused };
  },
  result_from_popup() {
    const world = opened();
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    world.popup.closed = true;
    world.opener.tick();
    return state(world);
  },
  other_origins() {
    const world = opened();
    for (const origin of [THIRD, HUB, "null", "http://app.partner.example", `${PARTNER}:443`]) {
      world.opener.receive({ origin, source: world.popup, data: MESSAGE });
    }
    return state(world);
  },
  other_windows() {
    const world = opened();
    for (const source of [world.opener, fakeWindow(PARTNER), null, undefined]) {
      world.opener.receive({ origin: PARTNER, source, data: MESSAGE });
    }
    return state(world);
  },
  malformed_then_valid() {
    const world = opened();
    const malformed = [
      null, undefined, "onboarding-connect:result", 1, [MESSAGE],
      { ...MESSAGE, type: "other" },
      { ...MESSAGE, version: 2 },
      { ...MESSAGE, version: "1" },
      { type: MESSAGE.type, version: 1 },
      { ...MESSAGE, result: null },
      { ...MESSAGE, result: ["cl_1"] },
      { ...MESSAGE, result: "cl_1" },
    ];
    for (const data of malformed) {
      world.opener.receive({ origin: PARTNER, source: world.popup, data });
    }
    const afterMalformed = state(world);
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    return { after_malformed: afterMalformed, after_valid: state(world) };
  },
  closed_by_client() {
    const world = opened();
    world.opener.tick(); // still open: nothing
    const whileOpen = state(world);
    world.popup.closed = true;
    world.opener.tick();
    world.opener.tick();
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    return { while_open: whileOpen, after_close: state(world) };
  },
  popup_blocked() {
    const opener = fakeWindow(PARTNER);
    const connect = load(opener);
    let called = 0;
    const handle = connect.open({ url: LINK, origin: PARTNER, onResult: () => { called += 1; } });
    return {
      handle,
      assigned: opener.location.assigned,
      listening: opener.listening(),
      timers: opener.timers(),
      called,
    };
  },
  default_origin() {
    const world = opened({ origin: undefined });
    world.opener.receive({ origin: THIRD, source: world.popup, data: MESSAGE });
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    return state(world);
  },
  refused_options() {
    const out = {};
    const bad = {
      star: { origin: "*" },
      trailing_slash: { origin: `${PARTNER}/` },
      default_port: { origin: `${PARTNER}:443` },
      path: { origin: `${PARTNER}/callback` },
      not_a_url: { origin: "partner" },
      no_url: { url: "" },
      no_on_result: { onResult: undefined },
    };
    for (const [name, change] of Object.entries(bad)) {
      const opener = fakeWindow(PARTNER);
      const connect = load(opener);
      const options = { url: LINK, origin: PARTNER, onResult: () => {}, ...change };
      out[name] = { error: thrown(() => connect.open(options)), opened: opener.opened.length };
    }
    return out;
  },
  opened_twice() {
    const world = opened();
    const second = { results: [], cancels: 0 };
    world.opener.popupToReturn = world.popup; // the same named window, navigated again
    const connect = world.opener.OnboardingConnect;
    connect.open({
      url: LINK,
      origin: PARTNER,
      onResult: (result) => second.results.push(result),
      onCancel: () => { second.cancels += 1; },
    });
    const listeningBetween = world.opener.listening();
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    world.popup.closed = true;
    world.opener.tick();
    return { first: state(world), second: snapshot(second), listening_between: listeningBetween };
  },
  cancel_handle() {
    const world = opened();
    world.handle.cancel();
    world.opener.receive({ origin: PARTNER, source: world.popup, data: MESSAGE });
    world.opener.tick();
    return state(world);
  },
  finish_posts_to_the_exact_origin() {
    const popup = fakeWindow(PARTNER);
    popup.opener = fakeWindow(PARTNER);
    const sent = load(popup).finish(RESULT, PARTNER);
    return { sent, posted: popup.opener.posted };
  },
  finish_without_opener() {
    const alone = fakeWindow(PARTNER);
    const orphan = fakeWindow(PARTNER);
    orphan.opener = fakeWindow(PARTNER);
    orphan.opener.closed = true;
    return {
      no_opener: load(alone).finish(RESULT, PARTNER),
      opener_closed: load(orphan).finish(RESULT, PARTNER),
      posted: orphan.opener.posted,
    };
  },
  finish_refuses() {
    const popup = fakeWindow(PARTNER);
    popup.opener = fakeWindow(PARTNER);
    const connect = load(popup);
    return {
      star: thrown(() => connect.finish(RESULT, "*")),
      no_origin: thrown(() => connect.finish(RESULT)),
      trailing_slash: thrown(() => connect.finish(RESULT, `${PARTNER}/`)),
      not_an_object: thrown(() => connect.finish("cl_1", PARTNER)),
      posted: popup.opener.posted,
    };
  },
};

const report = {};
for (const [name, scenario] of Object.entries(scenarios)) {
  try {
    report[name] = scenario();
  } catch (error) {
    report[name] = { crash: String(error.stack) };
  }
}
process.stdout.write(JSON.stringify(report));
