"""Custom resources of a mailinfra sending stack, answering CloudFormation's custom-resource contract.

Custom::SesIdentityPolicy   a sending-authorization policy; its id is `<identity>|<policy name>`
Custom::SesReplicaIdentity  a DEED replica; its id is the identity when this handler created it,
                            `adopted|<identity>` when it existed already, replicating the same parent
Custom::SesEndpointId       reads a global endpoint; its id is the EndpointId, Data {EndpointId, Status}

Every answer carries the id CloudFormation will send back: a Delete acts only on an id this handler
issued (after a failed Create it gets whatever id the failure answered with) and answers with the id
it was sent; an Update that answers with another id is a replacement, and the old id gets a Delete.
"""
import json, time, urllib.request
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# SES accepts each identity-policy call (Create/Update/DeleteEmailIdentityPolicy) no more than once
# per second (SES API v2 Reference). The compiler chains a stack's policies with DependsOn, so they
# run one after another; calls that still meet the limit (other stacks, other tools) are retried:
# standard mode retries TooManyRequestsException with jittered backoff, 8 attempts in at most ~71 s,
# within the function's 120 s.
RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 8})
POLL = 5  # seconds between reads of a global endpoint that is still CREATING


class Refusal(Exception):
    """A request this handler will not carry out; its text is the whole Reason."""


def sesv2(**kw):
    return boto3.client("sesv2", config=RETRIES, **kw)


def policy(c, e, r, ctx):
    pid, p = r["PhysicalResourceId"], e["ResourceProperties"]
    if e["RequestType"] == "Delete":
        if "|" in pid:
            i, n = pid.split("|", 1)
            try:
                c.delete_email_identity_policy(EmailIdentity=i, PolicyName=n)
            except c.exceptions.NotFoundException:
                pass  # the identity, or its policy, is gone already
        return
    i, n = p["Identity"], p["PolicyName"]
    d = p["Policy"] if isinstance(p["Policy"], str) else json.dumps(p["Policy"])
    new = i + "|" + n
    if pid == new:
        c.update_email_identity_policy(EmailIdentity=i, PolicyName=n, Policy=d)
    else:
        try:
            c.create_email_identity_policy(EmailIdentity=i, PolicyName=n, Policy=d)
        except c.exceptions.AlreadyExistsException:
            c.update_email_identity_policy(EmailIdentity=i, PolicyName=n, Policy=d)
    r["PhysicalResourceId"] = new


def replica(c, e, r, ctx):
    pid, p = r["PhysicalResourceId"], e["ResourceProperties"]
    i, o = p["Identity"], p["Origin"]
    if e["RequestType"] == "Delete":
        # Only an identity this handler created: its id is the identity itself.
        if "." in pid and "|" not in pid:
            try:
                c.delete_email_identity(EmailIdentity=pid)
            except c.exceptions.NotFoundException:
                pass
        return
    old = e.get("OldResourceProperties", {})
    if e["RequestType"] == "Update" and old.get("Identity") == i:
        if old.get("Origin") != o:
            raise Refusal("SES cannot change the parent of the DEED replica %s (%s, now asked %s): delete the identity in %s "
                          "(aws sesv2 delete-email-identity --email-identity %s --region %s) and apply again"
                          % (i, old.get("Origin"), o, c.meta.region_name, i, c.meta.region_name))
    else:
        create_replica(c, i, o, r)
    m, s = p.get("MailFromDomain"), p.get("ConfigurationSetName")
    mail_from = {"MailFromDomain": m, "BehaviorOnMxFailure": p["BehaviorOnMxFailure"]} if m else {}
    c.put_email_identity_mail_from_attributes(EmailIdentity=i, **mail_from)
    c.put_email_identity_feedback_attributes(EmailIdentity=i, EmailForwardingEnabled=p.get("FeedbackForwarding", "true") == "true")
    c.put_email_identity_configuration_set_attributes(EmailIdentity=i, **({"ConfigurationSetName": s} if s else {}))


def create_replica(c, i, o, r):
    """Creates the replica, or adopts an identity that already replicates the same parent.

    A replica can only be made by CreateEmailIdentity: PutEmailIdentityDkimSigningAttributes
    documents no change of an existing identity into a replica, and one made by hand is never
    converted.
    """
    try:
        c.create_email_identity(EmailIdentity=i, DkimSigningAttributes={"DomainSigningAttributesOrigin": o})
        r["PhysicalResourceId"] = i  # from here on a failure leaves it to the rollback's Delete
    except c.exceptions.AlreadyExistsException:
        found = c.get_email_identity(EmailIdentity=i).get("DkimAttributes", {}).get("SigningAttributesOrigin")
        if found != o:
            region = c.meta.region_name
            raise Refusal("the identity %s exists in %s already, with DKIM origin %s; mailinfra.yaml asks for a DEED replica "
                          "of %s, and an existing identity is never converted: delete it (aws sesv2 delete-email-identity "
                          "--email-identity %s --region %s) and apply again, or set `replication: independent` for it "
                          "in mailinfra.yaml" % (i, region, found or "none", o, i, region))
        r["PhysicalResourceId"] = "adopted|" + i


def endpoint(c, e, r, ctx):
    if e["RequestType"] == "Delete":
        return  # it only reads
    n = e["ResourceProperties"]["EndpointName"]
    budget = ctx.get_remaining_time_in_millis() / 1000 - 20 if ctx else 60
    for attempt in range(max(1, int(budget // POLL) + 1)):
        if attempt:
            time.sleep(POLL)
        m = c.get_multi_region_endpoint(EndpointName=n)
        s = m.get("Status")
        if s == "READY":
            r["PhysicalResourceId"] = m["EndpointId"]
            r["Data"] = {"EndpointId": m["EndpointId"], "Status": s}
            return
        if s != "CREATING":
            raise Refusal("the global endpoint %s is %s, not READY: delete it (aws sesv2 delete-multi-region-endpoint "
                          "--endpoint-name %s --region %s) and apply again" % (n, s, n, c.meta.region_name))
    raise Refusal("the global endpoint %s is still CREATING after %d s: apply again once it is READY" % (n, budget))


KINDS = {"Custom::SesIdentityPolicy": policy, "Custom::SesReplicaIdentity": replica, "Custom::SesEndpointId": endpoint}


def reason(x):
    if isinstance(x, Refusal):
        return str(x)
    if isinstance(x, ClientError) and x.response.get("Error", {}).get("Code") == "TooManyRequestsException":
        return "SES throttled the call through every retry; apply again: %s" % x
    return "%s: %s" % (type(x).__name__, x)


def answer(e, r, status, why=""):
    body = json.dumps({"Status": status, "Reason": why[:1000], "PhysicalResourceId": r["PhysicalResourceId"], "StackId": e["StackId"],
                       "RequestId": e["RequestId"], "LogicalResourceId": e["LogicalResourceId"], "Data": r["Data"]}).encode()
    req = urllib.request.Request(e["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(req, timeout=30)


def handler(e, ctx, client=None):
    r = {"PhysicalResourceId": e.get("PhysicalResourceId", e["LogicalResourceId"]), "Data": {}}
    try:
        kind = KINDS.get(e["ResourceType"])
        if kind is None:
            if e["RequestType"] != "Delete":  # a Delete of what was never made succeeds
                raise Refusal("this function serves %s, not %s" % (", ".join(sorted(KINDS)), e["ResourceType"]))
        else:
            kind(client or sesv2(), e, r, ctx)
        answer(e, r, "SUCCESS")
    except Exception as x:
        print("failed: %r" % x)
        answer(e, r, "FAILED", reason(x))
