"""Custom::SesActiveReceiptRuleSet: makes a receipt rule set the region's active one (SES v1 API).

SES has one active rule set per region. On Create it takes over only when none is active, its own
is, or the active one is the rule set the spec allows it to replace (`Replaces`); it remembers the
one it replaced in its id, `<rule set>` or `<rule set>|<replaced rule set>`. On Delete, while its
rule set is still the active one, it makes the replaced one active again (or none). A Delete of an
id it never issued (after a failed Create) touches nothing; every answer carries the id it was sent
or the one it issued.
"""
import json, urllib.request
import boto3
from botocore.config import Config

# SetActiveReceiptRuleSet and DescribeActiveReceiptRuleSet run no more than once per second (SES API
# Reference): throttled calls are retried in standard mode.
RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 8})


class Refusal(Exception):
    """A request this handler will not carry out; its text is the whole Reason."""


def ses(**kw):
    return boto3.client("ses", config=RETRIES, **kw)


def active(c):
    return (c.describe_active_receipt_rule_set().get("Metadata") or {}).get("Name")


def restore(c, previous):
    if previous:
        try:
            c.set_active_receipt_rule_set(RuleSetName=previous)
            return
        except c.exceptions.RuleSetDoesNotExistException:
            print("the replaced rule set %s is gone: no rule set is active now" % previous)
    c.set_active_receipt_rule_set()


def activate(c, e, r):
    pid, p = r["PhysicalResourceId"], e["ResourceProperties"]
    ours, _, previous = pid.partition("|")
    if e["RequestType"] == "Delete":
        if pid != e["LogicalResourceId"] and active(c) == ours:
            restore(c, previous)
        return
    if e["RequestType"] == "Create":
        ours, previous = None, ""
    n, allowed = p["RuleSetName"], p.get("Replaces")
    now = active(c)
    if now and now not in (n, ours):
        if now != allowed:
            raise Refusal("the receipt rule set %s is active in %s, and mailinfra.yaml does not let %s replace it: add "
                          "`replaces: %s` to that rule set in mailinfra.yaml (%s is made active again when %s is removed), "
                          "or deactivate %s first" % (now, c.meta.region_name, n, now, now, n, now))
        previous = now
    if now != n:
        c.set_active_receipt_rule_set(RuleSetName=n)
    r["PhysicalResourceId"] = n + ("|" + previous if previous else "")


def answer(e, r, status, why=""):
    body = json.dumps({"Status": status, "Reason": why[:1000], "PhysicalResourceId": r["PhysicalResourceId"], "StackId": e["StackId"],
                       "RequestId": e["RequestId"], "LogicalResourceId": e["LogicalResourceId"], "Data": {}}).encode()
    req = urllib.request.Request(e["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(req, timeout=30)


def handler(e, ctx, client=None):
    r = {"PhysicalResourceId": e.get("PhysicalResourceId", e["LogicalResourceId"])}
    try:
        if e["ResourceType"] != "Custom::SesActiveReceiptRuleSet":
            if e["RequestType"] != "Delete":  # a Delete of what was never made succeeds
                raise Refusal("this function serves Custom::SesActiveReceiptRuleSet, not %s" % e["ResourceType"])
        else:
            activate(client or ses(), e, r)
        answer(e, r, "SUCCESS")
    except Exception as x:
        print("failed: %r" % x)
        answer(e, r, "FAILED", str(x) if isinstance(x, Refusal) else "%s: %s" % (type(x).__name__, x))
