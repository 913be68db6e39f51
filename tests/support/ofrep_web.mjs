// The official OpenFeature web provider (@openfeature/ofrep-web-provider) against
// `glassroom serve`, in Node: it evaluates flags from bulk evaluation, polls with
// If-None-Match and gets 304 while nothing changed, and re-fetches on a new context.
//
// Run by tests/ofrep.rs: node ofrep_web.mjs NODE_MODULES_DIR BASE_URL
// (the example built for 2026-11-30T12:00:00Z). Exits non-zero naming what differs.

import { createRequire } from "node:module";
import path from "node:path";

const [modules, base] = process.argv.slice(2);
const require = createRequire(path.join(modules, "resolve.js"));

// Every response the provider gets, with the If-None-Match it sent.
const seen = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const response = await realFetch(input, init);
  const headers = new Headers(input instanceof Request ? input.headers : (init.headers ?? {}));
  seen.push({ status: response.status, ifNoneMatch: headers.get("if-none-match") });
  return response;
};

const { OpenFeature } = require("@openfeature/web-sdk");
const { OFREPWebProvider } = require("@openfeature/ofrep-web-provider");

const failures = [];
const check = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    failures.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

await OpenFeature.setContext({ targetingKey: "acct-1001" });
await OpenFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl: base, pollInterval: 200 }));
const flags = OpenFeature.getClient();

const expect = (details, value, reason, variant) => {
  check(`${details.flagKey}: value`, details.value, value);
  check(`${details.flagKey}: reason`, details.reason, reason);
  check(`${details.flagKey}: variant`, details.variant, variant);
  check(`${details.flagKey}: error`, details.errorCode ?? null, null);
};
expect(flags.getBooleanDetails("new-checkout", false), true, "TARGETING_MATCH", "account-set:beta-testers");
expect(flags.getNumberDetails("search-page-size", 1), 20, "DEFAULT", "default");
expect(flags.getStringDetails("checkout-variant", "x"), "streamlined", "TARGETING_MATCH", "account-set:beta-testers");
expect(flags.getBooleanDetails("express-shipping", false), true, "STATIC", "fully-active");
expect(flags.getBooleanDetails("gift-cards", true), false, "DISABLED", "default");
const missing = flags.getBooleanDetails("no-such-flag", true);
check("unknown flag: value", missing.value, true);
check("unknown flag: error", missing.errorCode, "FLAG_NOT_FOUND");

// Polling: the same answers, so 304s to the ETag of the first response.
await sleep(1200);
const polls = seen.slice(1);
check("polled at least twice", polls.length >= 2, true);
check("every poll revalidated", polls.every((p) => p.status === 304 && p.ifNoneMatch), true);

// Another account: a new bulk evaluation with its own answers.
await OpenFeature.setContext({ targetingKey: "acct-1003" });
expect(flags.getBooleanDetails("new-checkout", true), false, "TARGETING_MATCH", "override");

await OpenFeature.close();
if (failures.length > 0) {
  console.log(failures.join("\n"));
  console.log(JSON.stringify(seen));
  process.exit(1);
}
console.log(`ofrep web: all checks passed (${polls.length} polls answered 304)`);
