// Test driver: runs docs/verify/verify_callback.js on batches of cases. Each line on stdin is a
// JSON array of cases; each line on stdout the JSON array of their results, in the same order.
"use strict";

const path = require("node:path");
const readline = require("node:readline");
const { verifyCallback, CallbackError } = require(
  path.join(__dirname, "..", "docs", "verify", "verify_callback.js"),
);

function run(c) {
  try {
    const answer = verifyCallback(c.url, {
      signingSecret: c.signing_secret,
      issuer: c.issuer,
      state: c.state,
      tolerance: c.tolerance,
      now: c.now,
    });
    const { listsOmitted, ...rest } = answer;
    return { ok: true, answer: { ...rest, lists_omitted: listsOmitted } };
  } catch (error) {
    // Anything but a refusal is a bug of the verifier: report it as such, not as "invalid".
    if (!(error instanceof CallbackError)) return { ok: false, crash: String(error.stack) };
    return { ok: false, reason: error.message };
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  process.stdout.write(JSON.stringify(JSON.parse(line).map(run)) + "\n");
});
