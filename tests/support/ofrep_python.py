"""The official OpenFeature OFREP provider for Python against `glassroom serve`.

Run by tests/ofrep.rs with the base URL of a server that serves the example built for
2026-11-30T12:00:00Z, an account inside and one outside one-click-reorder's 25% rollout.
Exits non-zero, naming the check, when anything differs.
"""

import sys

import requests
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

base, in_split, outside = sys.argv[1], sys.argv[2], sys.argv[3]
api.set_provider(OFREPProvider(base))
flags = api.get_client()
failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def expect(kind, key, account, default, value, reason, variant):
    context = EvaluationContext(targeting_key=account)
    resolve = {
        "bool": flags.get_boolean_details,
        "int": flags.get_integer_details,
        "str": flags.get_string_details,
    }[kind]
    details = resolve(key, default, context)
    check(f"{key} for {account}: error", details.error_code, None)
    check(f"{key} for {account}: value", details.value, value)
    check(f"{key} for {account}: reason", details.reason, reason)
    check(f"{key} for {account}: variant", details.variant, variant)
    check(
        f"{key} for {account}: metadata",
        len(details.flag_metadata.get("bundleSha256", "")),
        64,
    )


# Booleans, integers and strings, for accounts covering every rule.
expect("bool", "new-checkout", "acct-1003", True, False, Reason.TARGETING_MATCH, "override")
expect("bool", "new-checkout", "acct-1001", False, True, Reason.TARGETING_MATCH, "account-set:beta-testers")
expect("bool", "one-click-reorder", in_split, False, True, Reason.SPLIT, "rollout")
expect("bool", "one-click-reorder", outside, True, False, Reason.DEFAULT, "default")
expect("bool", "express-shipping", "acct-9999", False, True, Reason.STATIC, "fully-active")
expect("bool", "live-chat", "acct-9999", True, False, Reason.DEFAULT, "default")
expect("bool", "gift-cards", "acct-9999", True, False, Reason.DISABLED, "default")
expect("int", "search-page-size", "acct-2002", 1, 100, Reason.TARGETING_MATCH, "override")
expect("int", "search-page-size", "acct-2001", 1, 50, Reason.TARGETING_MATCH, "account-set:enterprise")
expect("int", "search-page-size", "acct-9999", 1, 20, Reason.DEFAULT, "default")
expect("str", "checkout-variant", "acct-1001", "x", "streamlined", Reason.TARGETING_MATCH, "account-set:beta-testers")
expect("str", "checkout-variant", "acct-1003", "x", "classic", Reason.TARGETING_MATCH, "override")


def expect_error(what, details, code, default):
    check(f"{what}: error code", details.error_code, code)
    check(f"{what}: value", details.value, default)
    check(f"{what}: reason", details.reason, Reason.ERROR)


# The errors: the application gets its default and the code says why.
expect_error(
    "unknown flag",
    flags.get_boolean_details("no-such-flag", True, EvaluationContext(targeting_key="acct-1")),
    ErrorCode.FLAG_NOT_FOUND,
    True,
)
expect_error(
    "no targeting key",
    flags.get_boolean_details("new-checkout", True, EvaluationContext()),
    ErrorCode.TARGETING_KEY_MISSING,
    True,
)
expect_error(
    "a targeting key that is not a string",
    flags.get_boolean_details(
        "new-checkout", True, EvaluationContext(attributes={"targetingKey": 42})
    ),
    ErrorCode.INVALID_CONTEXT,
    True,
)
expect_error(
    "a flag of another type",
    flags.get_string_details("new-checkout", "off", EvaluationContext(targeting_key="acct-1001")),
    ErrorCode.TYPE_MISMATCH,
    "off",
)

# A body that is not JSON (no provider sends one): PARSE_ERROR, as the spec says.
response = requests.post(
    base.rstrip("/") + "/ofrep/v1/evaluate/flags/new-checkout",
    data="{not json",
    headers={"content-type": "application/json"},
    timeout=5,
)
check("not JSON: status", response.status_code, 400)
check("not JSON: code", response.json().get("errorCode"), "PARSE_ERROR")

# Bulk evaluation answers 304 to its own ETag.
bulk_url = base.rstrip("/") + "/ofrep/v1/evaluate/flags"
body = {"context": {"targetingKey": "acct-1001"}}
first = requests.post(bulk_url, json=body, timeout=5)
check("bulk: status", first.status_code, 200)
tag = first.headers.get("ETag")
second = requests.post(bulk_url, json=body, headers={"If-None-Match": tag}, timeout=5)
check("bulk: revalidated", second.status_code, 304)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ofrep python: all checks passed")
