import json, urllib.request
import boto3

def policy(c, p, req, pid):
    i, n = p["Identity"], p["PolicyName"]
    if req == "Delete":
        try:
            c.delete_email_identity_policy(EmailIdentity=i, PolicyName=n)
        except c.exceptions.NotFoundException:
            pass
    else:
        d = p["Policy"] if isinstance(p["Policy"], str) else json.dumps(p["Policy"])
        try:
            c.create_email_identity_policy(EmailIdentity=i, PolicyName=n, Policy=d)
        except c.exceptions.AlreadyExistsException:
            c.update_email_identity_policy(EmailIdentity=i, PolicyName=n, Policy=d)
    return i + "|" + n

def replica(c, p, req, pid):
    i = p["Identity"]
    if req == "Delete":
        if pid != i:
            return pid
        try:
            c.delete_email_identity(EmailIdentity=i)
        except c.exceptions.NotFoundException:
            pass
        return i
    o = p["Origin"]
    try:
        c.create_email_identity(EmailIdentity=i, DkimSigningAttributes={"DomainSigningAttributesOrigin": o})
    except c.exceptions.AlreadyExistsException:
        c.put_email_identity_dkim_signing_attributes(EmailIdentity=i, SigningAttributesOrigin=o)
    m = p.get("MailFromDomain")
    c.put_email_identity_mail_from_attributes(EmailIdentity=i, **({"MailFromDomain": m, "BehaviorOnMxFailure": p["BehaviorOnMxFailure"]} if m else {}))
    c.put_email_identity_feedback_attributes(EmailIdentity=i, EmailForwardingEnabled=p.get("FeedbackForwarding", "true") == "true")
    s = p.get("ConfigurationSetName")
    c.put_email_identity_configuration_set_attributes(EmailIdentity=i, **({"ConfigurationSetName": s} if s else {}))
    return i

def answer(e, status, pid, reason=""):
    body = json.dumps({"Status": status, "Reason": reason[:500], "PhysicalResourceId": pid, "StackId": e["StackId"], "RequestId": e["RequestId"], "LogicalResourceId": e["LogicalResourceId"], "Data": {}}).encode()
    r = urllib.request.Request(e["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(r, timeout=30)

def handler(e, ctx, client=None):
    pid = e.get("PhysicalResourceId", e["LogicalResourceId"])
    try:
        c = client or boto3.client("sesv2")
        kind = {"Custom::SesIdentityPolicy": policy, "Custom::SesReplicaIdentity": replica}[e["ResourceType"]]
        pid = kind(c, e["ResourceProperties"], e["RequestType"], pid)
        answer(e, "SUCCESS", pid)
    except Exception as x:
        print("failed: %r" % x)
        answer(e, "FAILED", pid, "%s: %s" % (type(x).__name__, x))
