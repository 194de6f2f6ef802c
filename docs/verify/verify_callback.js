// Verify a callback of the hub's permission screen (SPEC §5.3). Node.js 18+, no dependencies.
//
//   const { verifyCallback } = require("./verify_callback.js");
//   const answer = verifyCallback(req.originalUrl, {   // or the full URL the client arrived at
//     signingSecret: "whsec_...",
//     issuer: "https://hub.example",
//     state: req.session.permissionState,              // the state you sent; null if none
//   });
//
// It returns the answer or throws CallbackError. With `answer.listsOmitted`, the callback was too
// long for its lists: read them from GET /api/v1/partners/{your id}/consents/{answer.consent}.
"use strict";

const { createHmac, timingSafeEqual } = require("node:crypto");

// The hub's parameter names: each may appear once (your redirect URL's own may repeat).
const HUB_PARAMS = new Set([
  "client", "channels", "revoked", "consent", "lists", "error", "state", "iss", "ts", "signature",
]);
const SIGNATURE = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
const ID_LIST = /^\[([A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*)?\]$/;

class CallbackError extends Error {}

// As UTF-8, only A-Z a-z 0-9 - . _ ~ left as they are (encodeURIComponent spares !'()* too).
function encode(text) {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

// The signed message: every parameter but `signature`, name and value encoded, sorted by name,
// then value, joined as name=value with &.
function canonical(params) {
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return params
    .filter(([name]) => name !== "signature")
    .map(([name, value]) => [encode(name), encode(value)])
    .sort(([n1, v1], [n2, v2]) => order(n1, n2) || order(v1, v2))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

// The query of a URL (absolute, or path and query), as Python's urlsplit reads it.
function queryOf(url) {
  const beforeFragment = url.split("#", 1)[0];
  const start = beforeFragment.indexOf("?");
  return start < 0 ? "" : beforeFragment.slice(start + 1);
}

function ids(value) {
  if (value === undefined || !ID_LIST.test(value)) {
    throw new CallbackError("a list of ids is missing or malformed");
  }
  return value.slice(1, -1).split(",").filter((id) => id !== "");
}

function verifyCallback(url, { signingSecret, issuer, state, tolerance = 300, now }) {
  const params = [...new URLSearchParams(queryOf(url))];
  const fields = new Map();
  for (const [name, value] of params) {
    if (HUB_PARAMS.has(name)) {
      if (fields.has(name)) throw new CallbackError(`${name} appears more than once`);
      fields.set(name, value);
    }
  }

  const signature = fields.get("signature") ?? "";
  if (!SIGNATURE.test(signature)) throw new CallbackError("no signature");
  const key = Buffer.from(signingSecret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(canonical(params)).digest("hex");
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw new CallbackError("wrong signature");
  }
  if (fields.get("iss") !== issuer) throw new CallbackError("another issuer");
  const ts = fields.get("ts") ?? "";
  const age = (now ?? Date.now() / 1000) - Number(ts);
  if (!TIMESTAMP.test(ts) || Math.abs(age) > tolerance) throw new CallbackError("not fresh");
  if ((fields.get("state") ?? null) !== (state ?? null)) {
    throw new CallbackError("not the state of your request");
  }
  const client = fields.get("client");
  const consent = fields.get("consent");
  if (!client || !consent) throw new CallbackError("no client or no consent");

  const answer = {
    client,
    consent,
    error: null,
    channels: null,
    revoked: null,
    listsOmitted: false,
    state: state ?? null,
    ts: Number(ts),
  };
  if (fields.has("error")) {
    if (["channels", "revoked", "lists"].some((name) => fields.has(name))) {
      throw new CallbackError("lists beside an error");
    }
    return { ...answer, error: fields.get("error") };
  }
  if (fields.has("lists")) {
    if (fields.get("lists") !== "omitted" || fields.has("channels") || fields.has("revoked")) {
      throw new CallbackError("lists both omitted and given");
    }
    return { ...answer, listsOmitted: true };
  }
  const channels = ids(fields.get("channels"));
  const revoked = ids(fields.get("revoked") ?? "[]");
  return { ...answer, channels, revoked };
}

module.exports = { verifyCallback, canonical, CallbackError, HUB_PARAMS };
