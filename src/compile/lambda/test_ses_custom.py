"""Tests of the sending stacks' custom-resource handler against recorded CloudFormation events.

Every SES call goes to a real botocore client built from botocore's own SES v2 service model
(the botocore that moto brings into .venv) under botocore's Stubber: a call, a parameter or a
response the real API does not have fails the test, and so does a stubbed call that is never
made. The response PUT to CloudFormation is captured. Run with
`.venv/bin/python -m unittest discover -s src/compile/lambda` (the Rust suite does).
"""
import copy, json, os, sys, unittest
from unittest import mock

# No fallback: without botocore these tests must fail, not pass against a fake.
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ses_custom  # noqa: E402

POLICY_ID = "nutrition.co|mailinfra-deed-replication"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "ses:ReplicateEmailIdentityDKIMSigningKey",
        "Resource": "arn:aws:ses:us-east-1:123456789012:identity/nutrition.co",
        "Condition": {"ForAllValues:StringEquals": {"ses:ReplicaRegion": ["us-west-2"]}},
    }],
}
KEYS = {"EmailIdentity": "nutrition.co", "PolicyName": "mailinfra-deed-replication"}
WITH_POLICY = dict(KEYS, Policy=json.dumps(POLICY))
REPLICA = {"EmailIdentity": "nutrition.co"}
CREATE = dict(REPLICA, DkimSigningAttributes={"DomainSigningAttributesOrigin": "AWS_SES_US_EAST_1"})


def event(name, **changes):
    with open(os.path.join(HERE, "events", name + ".json")) as f:
        e = json.load(f)
    e.update(changes)
    return e


def client(region):
    """The handler's own client (its retry configuration included), in `region`."""
    return ses_custom.sesv2(region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")


class Context:
    """What the handler reads of the Lambda context."""

    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


class Handler(unittest.TestCase):
    def setUp(self):
        self.sleeps = []
        patcher = mock.patch("time.sleep", self.sleeps.append)
        patcher.start()
        self.addCleanup(patcher.stop)

    def stub(self, region="us-west-2"):
        c = client(region)
        s = Stubber(c)
        s.activate()
        self.addCleanup(s.deactivate)
        return c, s

    def run_event(self, e, c, stub=None, ctx=None):
        sent = []

        def urlopen(req, timeout=None):
            sent.append((req.full_url, req.get_method(), json.loads(req.data)))

        with mock.patch("urllib.request.urlopen", urlopen):
            ses_custom.handler(copy.deepcopy(e), ctx, client=c)
        if stub:
            stub.assert_no_pending_responses()
        self.assertEqual(len(sent), 1, "answers CloudFormation exactly once")
        url, method, body = sent[0]
        self.assertEqual(url, e["ResponseURL"])
        self.assertEqual(method, "PUT")
        for k in ("StackId", "RequestId", "LogicalResourceId"):
            self.assertEqual(body[k], e[k])
        self.assertLessEqual(len(json.dumps(body)), 4096, "CloudFormation takes at most 4096 bytes")
        if body["Status"] == "FAILED":
            self.assertTrue(body["Reason"])
        return body

    # Custom::SesIdentityPolicy

    def test_policy_create_puts_the_policy(self):
        c, s = self.stub("us-east-1")
        s.add_response("create_email_identity_policy", {}, WITH_POLICY)
        body = self.run_event(event("policy-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", POLICY_ID))

    def test_policy_create_over_an_existing_policy_updates_it(self):
        c, s = self.stub("us-east-1")
        s.add_client_error("create_email_identity_policy", "AlreadyExistsException", http_status_code=400, expected_params=WITH_POLICY)
        s.add_response("update_email_identity_policy", {}, WITH_POLICY)
        body = self.run_event(event("policy-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", POLICY_ID))

    def test_policy_update_in_place_keeps_its_id(self):
        c, s = self.stub("us-east-1")
        s.add_response("update_email_identity_policy", {}, WITH_POLICY)
        e = event("policy-create", RequestType="Update", PhysicalResourceId=POLICY_ID,
                  OldResourceProperties=event("policy-create")["ResourceProperties"])
        body = self.run_event(e, c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", POLICY_ID))

    def test_policy_rename_is_a_replacement_with_a_new_id(self):
        c, s = self.stub("us-east-1")
        s.add_response("create_email_identity_policy", {}, WITH_POLICY)
        e = event("policy-create", RequestType="Update", PhysicalResourceId="nutrition.co|old-name")
        body = self.run_event(e, c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", POLICY_ID))

    def test_policy_delete_after_failed_create_succeeds_without_calls(self):
        c, s = self.stub("us-east-1")
        e = event("policy-delete-after-failed-create")
        body = self.run_event(e, c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "DeedPolicyNutritionCo"))

    def test_policy_delete_when_the_identity_is_gone_succeeds(self):
        c, s = self.stub("us-east-1")
        s.add_client_error("delete_email_identity_policy", "NotFoundException", http_status_code=404, expected_params=KEYS)
        body = self.run_event(event("policy-delete"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", POLICY_ID))

    def test_policy_delete_removes_what_its_id_names_and_answers_with_it(self):
        # The Delete of a replaced policy: its id, not the properties, names it.
        c, s = self.stub("us-east-1")
        s.add_response("delete_email_identity_policy", {}, {"EmailIdentity": "nutrition.co", "PolicyName": "old-name"})
        body = self.run_event(event("policy-delete", PhysicalResourceId="nutrition.co|old-name"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "nutrition.co|old-name"))

    def test_throttling_through_every_retry_is_answered_failed_with_guidance(self):
        c, s = self.stub("us-east-1")
        s.add_client_error("create_email_identity_policy", "TooManyRequestsException", http_status_code=429, expected_params=WITH_POLICY)
        body = self.run_event(event("policy-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("FAILED", "DeedPolicyNutritionCo"))
        self.assertIn("throttled", body["Reason"])
        self.assertIn("apply again", body["Reason"])

    def test_throttled_policy_calls_are_retried_in_standard_mode(self):
        c = client("us-east-1")
        self.assertEqual(c.meta.config.retries, {"mode": "standard", "total_max_attempts": 8})
        attempts = []

        class Raw:
            def __init__(self, data):
                self.data = data

            def stream(self, **kw):
                yield self.data

        def send(request, **kw):
            attempts.append(request.url)
            if len(attempts) == 1:
                return AWSResponse(request.url, 429, {"x-amzn-ErrorType": "TooManyRequestsException"}, Raw(b'{"message": "Too many requests"}'))
            return AWSResponse(request.url, 200, {}, Raw(b"{}"))

        c.meta.events.register("before-send.sesv2.CreateEmailIdentityPolicy", send)
        body = self.run_event(event("policy-create"), c)
        self.assertEqual(body["Status"], "SUCCESS", body["Reason"])
        self.assertEqual(len(attempts), 2)
        self.assertEqual(len(self.sleeps), 1, "one backoff between the two attempts")

    # Custom::SesReplicaIdentity

    def attributes(self, s, config_set="nutrition-default"):
        s.add_response("put_email_identity_mail_from_attributes", {},
                       dict(REPLICA, MailFromDomain="bounce.nutrition.co", BehaviorOnMxFailure="USE_DEFAULT_VALUE"))
        s.add_response("put_email_identity_feedback_attributes", {}, dict(REPLICA, EmailForwardingEnabled=True))
        s.add_response("put_email_identity_configuration_set_attributes", {}, dict(REPLICA, ConfigurationSetName=config_set))

    def existing(self, s, origin):
        s.add_client_error("create_email_identity", "AlreadyExistsException", http_status_code=400, expected_params=CREATE)
        s.add_response("get_email_identity", {"IdentityType": "DOMAIN", "DkimAttributes": {"SigningAttributesOrigin": origin}}, REPLICA)

    def test_replica_create_makes_a_replica_and_sets_its_attributes(self):
        c, s = self.stub()
        s.add_response("create_email_identity", {"IdentityType": "DOMAIN"}, CREATE)
        self.attributes(s)
        body = self.run_event(event("replica-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "nutrition.co"))

    def test_replica_create_adopts_a_replica_of_the_same_parent_under_an_id_delete_leaves_alone(self):
        c, s = self.stub()
        self.existing(s, "AWS_SES_US_EAST_1")
        self.attributes(s)
        body = self.run_event(event("replica-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "adopted|nutrition.co"))

    def test_replica_create_never_converts_an_identity_made_by_hand(self):
        c, s = self.stub()
        self.existing(s, "AWS_SES")
        body = self.run_event(event("replica-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("FAILED", "IdentityNutritionCo"))
        for needle in ("nutrition.co", "us-west-2", "DKIM origin AWS_SES;", "AWS_SES_US_EAST_1", "delete-email-identity", "replication: independent"):
            self.assertIn(needle, body["Reason"])

    def test_replica_partial_create_answers_with_the_identity_it_made(self):
        c, s = self.stub()
        s.add_response("create_email_identity", {"IdentityType": "DOMAIN"}, CREATE)
        s.add_client_error("put_email_identity_mail_from_attributes", "BadRequestException", http_status_code=400,
                           expected_params=dict(REPLICA, MailFromDomain="bounce.nutrition.co", BehaviorOnMxFailure="USE_DEFAULT_VALUE"))
        body = self.run_event(event("replica-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("FAILED", "nutrition.co"))
        self.assertIn("BadRequestException", body["Reason"])

    def test_replica_update_keeps_the_identity_and_its_id(self):
        c, s = self.stub()
        self.attributes(s, config_set="nutrition-marketing")
        body = self.run_event(event("replica-update"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "nutrition.co"))

    def test_replica_update_of_an_adopted_identity_keeps_its_id(self):
        c, s = self.stub()
        self.attributes(s, config_set="nutrition-marketing")
        body = self.run_event(event("replica-update", PhysicalResourceId="adopted|nutrition.co"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "adopted|nutrition.co"))

    def test_replica_update_to_another_parent_region_is_refused_without_calls(self):
        c, s = self.stub()
        e = event("replica-update")
        e["ResourceProperties"]["Origin"] = "AWS_SES_EU_WEST_1"
        body = self.run_event(e, c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("FAILED", "nutrition.co"))
        self.assertIn("AWS_SES_EU_WEST_1", body["Reason"])
        self.assertIn("delete-email-identity", body["Reason"])

    def test_replica_rename_is_a_replacement_with_a_new_id(self):
        c, s = self.stub()
        e = event("replica-update")
        e["OldResourceProperties"]["Identity"] = "old.nutrition.co"
        s.add_response("create_email_identity", {"IdentityType": "DOMAIN"}, CREATE)
        self.attributes(s, config_set="nutrition-marketing")
        body = self.run_event(dict(e, PhysicalResourceId="old.nutrition.co"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "nutrition.co"))

    def test_replica_delete_deletes_the_identity_it_created(self):
        c, s = self.stub()
        s.add_response("delete_email_identity", {}, REPLICA)
        body = self.run_event(event("replica-delete-after-failed-create", PhysicalResourceId="nutrition.co"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "nutrition.co"))

    def test_replica_delete_of_a_gone_identity_succeeds(self):
        c, s = self.stub()
        s.add_client_error("delete_email_identity", "NotFoundException", http_status_code=404, expected_params=REPLICA)
        body = self.run_event(event("replica-delete-after-failed-create", PhysicalResourceId="nutrition.co"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "nutrition.co"))

    def test_replica_delete_after_failed_create_succeeds_without_calls(self):
        c, s = self.stub()
        body = self.run_event(event("replica-delete-after-failed-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "IdentityNutritionCo"))

    def test_replica_delete_leaves_an_adopted_identity(self):
        c, s = self.stub()
        body = self.run_event(event("replica-delete-after-failed-create", PhysicalResourceId="adopted|nutrition.co"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "adopted|nutrition.co"))

    # Custom::SesEndpointId

    def endpoint(self, status, **extra):
        return dict({"EndpointName": "nutrition-global", "EndpointId": "abcd1234.efgh", "Status": status,
                     "Routes": [{"Region": "us-east-1"}, {"Region": "us-west-2"}]}, **extra)

    def test_endpoint_id_of_a_ready_endpoint(self):
        c, s = self.stub("us-east-1")
        s.add_response("get_multi_region_endpoint", self.endpoint("READY"), {"EndpointName": "nutrition-global"})
        body = self.run_event(event("endpoint-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "abcd1234.efgh"))
        self.assertEqual(body["Data"], {"EndpointId": "abcd1234.efgh", "Status": "READY"})
        self.assertEqual(self.sleeps, [])

    def test_endpoint_id_waits_while_the_endpoint_is_creating(self):
        c, s = self.stub("us-east-1")
        s.add_response("get_multi_region_endpoint", self.endpoint("CREATING"), {"EndpointName": "nutrition-global"})
        s.add_response("get_multi_region_endpoint", self.endpoint("CREATING"), {"EndpointName": "nutrition-global"})
        s.add_response("get_multi_region_endpoint", self.endpoint("READY"), {"EndpointName": "nutrition-global"})
        body = self.run_event(event("endpoint-create"), c, s, ctx=Context(120_000))
        self.assertEqual((body["Status"], body["Data"]["EndpointId"]), ("SUCCESS", "abcd1234.efgh"))
        self.assertEqual(self.sleeps, [ses_custom.POLL, ses_custom.POLL])

    def test_endpoint_wait_is_bounded_by_the_time_left(self):
        c, s = self.stub("us-east-1")
        # 35 s left, 20 kept for answering: reads at 0, 5, 10 and 15 s.
        for _ in range(4):
            s.add_response("get_multi_region_endpoint", self.endpoint("CREATING"), {"EndpointName": "nutrition-global"})
        body = self.run_event(event("endpoint-create"), c, s, ctx=Context(35_000))
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("FAILED", "GlobalEndpointIdLookup"))
        self.assertIn("still CREATING", body["Reason"])
        self.assertEqual(len(self.sleeps), 3)

    def test_failed_endpoint_is_answered_failed(self):
        c, s = self.stub("us-east-1")
        s.add_response("get_multi_region_endpoint", self.endpoint("FAILED"), {"EndpointName": "nutrition-global"})
        body = self.run_event(event("endpoint-create"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("FAILED", "GlobalEndpointIdLookup"))
        self.assertIn("nutrition-global is FAILED", body["Reason"])
        self.assertIn("delete-multi-region-endpoint", body["Reason"])

    def test_endpoint_delete_makes_no_call(self):
        c, s = self.stub("us-east-1")
        body = self.run_event(event("endpoint-create", RequestType="Delete", PhysicalResourceId="abcd1234.efgh"), c, s)
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "abcd1234.efgh"))

    # Any type

    def test_unknown_resource_type_fails_cleanly(self):
        c, s = self.stub()
        body = self.run_event(event("replica-create", ResourceType="Custom::Other"), c, s)
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("Custom::Other", body["Reason"])

    def test_delete_of_an_unknown_type_succeeds(self):
        c, s = self.stub()
        e = event("replica-delete-after-failed-create", ResourceType="Custom::Other")
        self.assertEqual(self.run_event(e, c, s)["Status"], "SUCCESS")


if __name__ == "__main__":
    unittest.main()
