"""Tests of the receipt rule set activation handler against recorded CloudFormation events.

Every SES call goes to a real botocore client built from botocore's own SES (v1) service model
(the botocore that moto brings into .venv) under botocore's Stubber: a call, a parameter or a
response the real API does not have fails the test, and so does a stubbed call that is never
made. The response PUT to CloudFormation is captured. Run with
`.venv/bin/python -m unittest discover -s src/compile/lambda/receiving` (the Rust suite does).
"""
import copy, json, os, sys, unittest
from unittest import mock

# No fallback: without botocore these tests must fail, not pass against a fake.
from botocore.stub import Stubber

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import active_rule_set  # noqa: E402


def event(name, **changes):
    with open(os.path.join(HERE, "events", name + ".json")) as f:
        e = json.load(f)
    e.update(changes)
    return e


def replacing(name, allowed, **changes):
    e = event(name, **changes)
    e["ResourceProperties"]["Replaces"] = allowed
    return e


class Handler(unittest.TestCase):
    def setUp(self):
        self.client = active_rule_set.ses(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.stub = Stubber(self.client)
        self.stub.activate()
        self.addCleanup(self.stub.deactivate)

    def active(self, name):
        self.stub.add_response("describe_active_receipt_rule_set", {"Metadata": {"Name": name}, "Rules": []} if name else {}, {})

    def sets(self, name=None):
        self.stub.add_response("set_active_receipt_rule_set", {}, {"RuleSetName": name} if name else {})

    def run_event(self, e):
        sent = []

        def urlopen(req, timeout=None):
            sent.append((req.full_url, req.get_method(), json.loads(req.data)))

        with mock.patch("urllib.request.urlopen", urlopen):
            active_rule_set.handler(copy.deepcopy(e), None, client=self.client)
        self.stub.assert_no_pending_responses()
        self.assertEqual(len(sent), 1, "answers CloudFormation exactly once")
        url, method, body = sent[0]
        self.assertEqual(url, e["ResponseURL"])
        self.assertEqual(method, "PUT")
        for k in ("StackId", "RequestId", "LogicalResourceId"):
            self.assertEqual(body[k], e[k])
        return body

    def outcome(self, body):
        return body["Status"], body["PhysicalResourceId"]

    def test_create_with_no_active_rule_set_activates(self):
        self.active(None)
        self.sets("iot-inbound")
        self.assertEqual(self.outcome(self.run_event(event("activate-create"))), ("SUCCESS", "iot-inbound"))

    def test_create_when_already_active_takes_it_as_is(self):
        self.active("iot-inbound")
        self.assertEqual(self.outcome(self.run_event(event("activate-create"))), ("SUCCESS", "iot-inbound"))

    def test_create_never_replaces_a_rule_set_the_spec_does_not_name(self):
        self.active("legacy-inbound")
        body = self.run_event(event("activate-create"))
        self.assertEqual(self.outcome(body), ("FAILED", "ActiveReceiptRuleSet"))
        for needle in ("legacy-inbound is active in us-east-1", "`replaces: legacy-inbound`", "deactivate legacy-inbound"):
            self.assertIn(needle, body["Reason"])

    def test_create_replaces_the_rule_set_the_spec_names_and_remembers_it(self):
        self.active("legacy-inbound")
        self.sets("iot-inbound")
        body = self.run_event(replacing("activate-create", "legacy-inbound"))
        self.assertEqual(self.outcome(body), ("SUCCESS", "iot-inbound|legacy-inbound"))

    def test_update_to_another_rule_set_activates_it_and_keeps_what_it_replaced(self):
        self.active("iot-inbound")
        self.sets("iot-v2")
        e = event("activate-create", RequestType="Update", PhysicalResourceId="iot-inbound|legacy-inbound",
                  ResourceProperties={"RuleSetName": "iot-v2"}, OldResourceProperties={"RuleSetName": "iot-inbound"})
        self.assertEqual(self.outcome(self.run_event(e)), ("SUCCESS", "iot-v2|legacy-inbound"))

    def test_update_refuses_a_rule_set_activated_by_someone_else_since(self):
        self.active("someone-else")
        e = event("activate-create", RequestType="Update", PhysicalResourceId="iot-inbound",
                  ResourceProperties={"RuleSetName": "iot-v2"}, OldResourceProperties={"RuleSetName": "iot-inbound"})
        body = self.run_event(e)
        self.assertEqual(self.outcome(body), ("FAILED", "iot-inbound"))
        self.assertIn("someone-else", body["Reason"])

    def test_delete_restores_the_rule_set_it_replaced(self):
        self.active("iot-inbound")
        self.sets("legacy-inbound")
        self.assertEqual(self.outcome(self.run_event(event("activate-delete"))), ("SUCCESS", "iot-inbound|legacy-inbound"))

    def test_delete_deactivates_when_it_replaced_none(self):
        self.active("iot-inbound")
        self.sets()
        body = self.run_event(event("activate-delete", PhysicalResourceId="iot-inbound"))
        self.assertEqual(self.outcome(body), ("SUCCESS", "iot-inbound"))

    def test_delete_deactivates_when_the_replaced_rule_set_is_gone(self):
        self.active("iot-inbound")
        self.stub.add_client_error("set_active_receipt_rule_set", "RuleSetDoesNotExist", http_status_code=400,
                                   expected_params={"RuleSetName": "legacy-inbound"})
        self.sets()
        self.assertEqual(self.outcome(self.run_event(event("activate-delete"))), ("SUCCESS", "iot-inbound|legacy-inbound"))

    def test_delete_leaves_another_active_rule_set_alone(self):
        self.active("someone-else")
        self.assertEqual(self.outcome(self.run_event(event("activate-delete"))), ("SUCCESS", "iot-inbound|legacy-inbound"))

    def test_delete_after_failed_create_succeeds_without_calls(self):
        e = event("activate-delete", PhysicalResourceId="ActiveReceiptRuleSet")
        self.assertEqual(self.outcome(self.run_event(e)), ("SUCCESS", "ActiveReceiptRuleSet"))

    def test_errors_are_answered_failed(self):
        self.active(None)
        self.stub.add_client_error("set_active_receipt_rule_set", "RuleSetDoesNotExist", http_status_code=400,
                                   expected_params={"RuleSetName": "iot-inbound"})
        body = self.run_event(event("activate-create"))
        self.assertEqual(self.outcome(body), ("FAILED", "ActiveReceiptRuleSet"))
        self.assertIn("RuleSetDoesNotExist", body["Reason"])

    def test_unknown_resource_type_fails_cleanly(self):
        body = self.run_event(event("activate-create", ResourceType="Custom::Other"))
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("Custom::Other", body["Reason"])

    def test_throttled_calls_are_retried_in_standard_mode(self):
        self.assertEqual(self.client.meta.config.retries, {"mode": "standard", "total_max_attempts": 8})


if __name__ == "__main__":
    unittest.main()
