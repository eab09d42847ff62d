import json, urllib.request
import boto3

def active(c):
    m = c.describe_active_receipt_rule_set().get("Metadata") or {}
    return m.get("Name")

def activate(c, p, req, pid):
    n = p["RuleSetName"]
    if req == "Delete":
        if active(c) == pid:
            c.set_active_receipt_rule_set()
        return pid
    if active(c) != n:
        c.set_active_receipt_rule_set(RuleSetName=n)
    return n

def answer(e, status, pid, reason=""):
    body = json.dumps({"Status": status, "Reason": reason[:500], "PhysicalResourceId": pid, "StackId": e["StackId"], "RequestId": e["RequestId"], "LogicalResourceId": e["LogicalResourceId"], "Data": {}}).encode()
    r = urllib.request.Request(e["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(r, timeout=30)

def handler(e, ctx, client=None):
    pid = e.get("PhysicalResourceId", e["LogicalResourceId"])
    try:
        c = client or boto3.client("ses")
        if e["ResourceType"] != "Custom::SesActiveReceiptRuleSet":
            raise ValueError("unknown resource type " + e["ResourceType"])
        pid = activate(c, e["ResourceProperties"], e["RequestType"], pid)
        answer(e, "SUCCESS", pid)
    except Exception as x:
        print("failed: %r" % x)
        answer(e, "FAILED", pid, "%s: %s" % (type(x).__name__, x))
