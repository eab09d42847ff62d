"""Tests of the custom-resource handler against recorded CloudFormation events.

boto3's client and the response PUT are stubbed; run with
`python3 -m unittest discover -s src/compile/lambda` (the Rust suite does).
"""
import copy, json, os, sys, types, unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.modules.setdefault("boto3", types.SimpleNamespace(client=lambda *a, **k: None))
sys.path.insert(0, HERE)
import ses_custom  # noqa: E402


def event(name, **changes):
    with open(os.path.join(HERE, "events", name + ".json")) as f:
        e = json.load(f)
    e.update(changes)
    return e


class NotFound(Exception):
    pass


class AlreadyExists(Exception):
    pass


class Client:
    """Records calls; `fail` maps a method name to the exception it raises."""

    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail or {}
        self.exceptions = types.SimpleNamespace(NotFoundException=NotFound, AlreadyExistsException=AlreadyExists)

    def __getattr__(self, name):
        def call(**kw):
            self.calls.append((name, kw))
            if name in self.fail:
                raise self.fail[name]
        return call


class Handler(unittest.TestCase):
    def run_event(self, e, client):
        sent = []
        def urlopen(req, timeout=None):
            sent.append((req.full_url, req.get_method(), json.loads(req.data)))
        with mock.patch("urllib.request.urlopen", urlopen):
            ses_custom.handler(copy.deepcopy(e), None, client=client)
        self.assertEqual(len(sent), 1, "answers CloudFormation exactly once")
        url, method, body = sent[0]
        self.assertEqual(url, e["ResponseURL"])
        self.assertEqual(method, "PUT")
        for k in ("StackId", "RequestId", "LogicalResourceId"):
            self.assertEqual(body[k], e[k])
        return body

    def test_policy_create(self):
        c = Client()
        body = self.run_event(event("policy-create"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "nutrition.co|mailinfra-deed-replication")
        name, kw = c.calls[0]
        self.assertEqual(name, "create_email_identity_policy")
        policy = json.loads(kw["Policy"])
        self.assertEqual(policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["ses:ReplicaRegion"], ["us-west-2"])

    def test_policy_create_when_it_exists_updates(self):
        c = Client(fail={"create_email_identity_policy": AlreadyExists("exists")})
        body = self.run_event(event("policy-create"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual([n for n, _ in c.calls], ["create_email_identity_policy", "update_email_identity_policy"])

    def test_policy_delete_is_idempotent(self):
        c = Client(fail={"delete_email_identity_policy": NotFound("gone")})
        e = event("policy-create", RequestType="Delete", PhysicalResourceId="nutrition.co|mailinfra-deed-replication")
        body = self.run_event(e, c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "nutrition.co|mailinfra-deed-replication")

    def test_replica_create_sets_origin_and_attributes(self):
        c = Client()
        body = self.run_event(event("replica-create"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "nutrition.co")
        calls = dict(c.calls)
        self.assertEqual(calls["create_email_identity"]["DkimSigningAttributes"], {"DomainSigningAttributesOrigin": "AWS_SES_US_EAST_1"})
        self.assertEqual(calls["put_email_identity_mail_from_attributes"], {"EmailIdentity": "nutrition.co", "MailFromDomain": "bounce.nutrition.co", "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"})
        self.assertEqual(calls["put_email_identity_feedback_attributes"]["EmailForwardingEnabled"], True)
        self.assertEqual(calls["put_email_identity_configuration_set_attributes"]["ConfigurationSetName"], "nutrition-default")

    def test_replica_update_of_existing_identity_is_idempotent(self):
        c = Client(fail={"create_email_identity": AlreadyExists("exists")})
        e = event("replica-create", RequestType="Update", PhysicalResourceId="nutrition.co")
        body = self.run_event(e, c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertIn(("put_email_identity_dkim_signing_attributes", {"EmailIdentity": "nutrition.co", "SigningAttributesOrigin": "AWS_SES_US_EAST_1"}), c.calls)

    def test_delete_after_failed_create_touches_nothing(self):
        c = Client()
        body = self.run_event(event("replica-delete-after-failed-create"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "IdentityNutritionCo")
        self.assertEqual(c.calls, [])

    def test_errors_are_answered_as_failed(self):
        c = Client(fail={"create_email_identity": RuntimeError("AccessDenied: not allowed")})
        body = self.run_event(event("replica-create"), c)
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("AccessDenied", body["Reason"])
        self.assertEqual(body["PhysicalResourceId"], "IdentityNutritionCo")

    def test_unknown_resource_type_fails_cleanly(self):
        body = self.run_event(event("replica-create", ResourceType="Custom::Other"), Client())
        self.assertEqual(body["Status"], "FAILED")


if __name__ == "__main__":
    unittest.main()
