"""Tests of the receipt rule set activation handler against recorded CloudFormation events.

boto3's client and the response PUT are stubbed; run with
`python3 -m unittest discover -s src/compile/lambda/receiving` (the Rust suite does).
"""
import copy, json, os, sys, types, unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.modules.setdefault("boto3", types.SimpleNamespace(client=lambda *a, **k: None))
sys.path.insert(0, HERE)
import active_rule_set  # noqa: E402


def event(name, **changes):
    with open(os.path.join(HERE, "events", name + ".json")) as f:
        e = json.load(f)
    e.update(changes)
    return e


class Client:
    """A fake SES client: `active` is the active rule set's name; `fail` maps a method to the exception it raises."""

    def __init__(self, active=None, fail=None):
        self.active = active
        self.calls = []
        self.fail = fail or {}

    def _call(self, name, kw):
        self.calls.append((name, kw))
        if name in self.fail:
            raise self.fail[name]

    def describe_active_receipt_rule_set(self, **kw):
        self._call("describe_active_receipt_rule_set", kw)
        return {"Metadata": {"Name": self.active}, "Rules": []} if self.active else {}

    def set_active_receipt_rule_set(self, **kw):
        self._call("set_active_receipt_rule_set", kw)
        self.active = kw.get("RuleSetName")

    def writes(self):
        return [kw for n, kw in self.calls if n == "set_active_receipt_rule_set"]


class Handler(unittest.TestCase):
    def run_event(self, e, client):
        sent = []
        def urlopen(req, timeout=None):
            sent.append((req.full_url, req.get_method(), json.loads(req.data)))
        with mock.patch("urllib.request.urlopen", urlopen):
            active_rule_set.handler(copy.deepcopy(e), None, client=client)
        self.assertEqual(len(sent), 1, "answers CloudFormation exactly once")
        url, method, body = sent[0]
        self.assertEqual(url, e["ResponseURL"])
        self.assertEqual(method, "PUT")
        for k in ("StackId", "RequestId", "LogicalResourceId"):
            self.assertEqual(body[k], e[k])
        return body

    def test_create_activates(self):
        c = Client(active="someone-else")
        body = self.run_event(event("activate-create"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "iot-inbound")
        self.assertEqual(c.writes(), [{"RuleSetName": "iot-inbound"}])
        self.assertEqual(c.active, "iot-inbound")

    def test_create_when_already_active_is_idempotent(self):
        c = Client(active="iot-inbound")
        body = self.run_event(event("activate-create"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(c.writes(), [])

    def test_update_to_another_rule_set_activates_it(self):
        c = Client(active="iot-inbound")
        e = event("activate-create", RequestType="Update", PhysicalResourceId="iot-inbound",
                  ResourceProperties={"RuleSetName": "iot-v2"}, OldResourceProperties={"RuleSetName": "iot-inbound"})
        body = self.run_event(e, c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "iot-v2")
        self.assertEqual(c.active, "iot-v2")

    def test_delete_deactivates_when_still_active(self):
        c = Client(active="iot-inbound")
        body = self.run_event(event("activate-create", RequestType="Delete", PhysicalResourceId="iot-inbound"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(c.writes(), [{}])
        self.assertIsNone(c.active)

    def test_delete_leaves_another_active_rule_set_alone(self):
        c = Client(active="someone-else")
        body = self.run_event(event("activate-create", RequestType="Delete", PhysicalResourceId="iot-inbound"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(c.writes(), [])
        self.assertEqual(c.active, "someone-else")

    def test_delete_after_failed_create_touches_nothing(self):
        c = Client(active=None)
        body = self.run_event(event("activate-create", RequestType="Delete"), c)
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "ActiveReceiptRuleSet")
        self.assertEqual(c.writes(), [])

    def test_errors_are_answered_as_failed(self):
        c = Client(fail={"set_active_receipt_rule_set": RuntimeError("RuleSetDoesNotExist: iot-inbound")})
        body = self.run_event(event("activate-create"), c)
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("RuleSetDoesNotExist", body["Reason"])
        self.assertEqual(body["PhysicalResourceId"], "ActiveReceiptRuleSet")

    def test_unknown_resource_type_fails_cleanly(self):
        body = self.run_event(event("activate-create", ResourceType="Custom::Other"), Client())
        self.assertEqual(body["Status"], "FAILED")


if __name__ == "__main__":
    unittest.main()
