#!/usr/bin/env python3
"""Regenerates src/data/cfn.json from the CloudFormation resource schemas bundled in cfn-lint.

For every resource type mailinfra emits: the regions where it exists, its createOnly
properties (a change there replaces the resource) and its property names (to validate
overrides). Run: .venv/bin/python scripts/gen-cfn-data.py  (scripts/test installs cfn-lint).
"""
import json
import pathlib
import sys

import cfnlint

TYPES = [
    "AWS::SES::EmailIdentity", "AWS::SES::ConfigurationSet", "AWS::SES::ConfigurationSetEventDestination",
    "AWS::SES::Template", "AWS::SES::MultiRegionEndpoint", "AWS::SES::DedicatedIpPool", "AWS::SES::VdmAttributes",
    "AWS::SES::MailManagerArchive", "AWS::SES::MailManagerRelay", "AWS::SES::MailManagerAddressList",
    "AWS::SES::MailManagerAddonInstance", "AWS::SES::MailManagerAddonSubscription",
    "AWS::SES::MailManagerTrafficPolicy", "AWS::SES::MailManagerRuleSet", "AWS::SES::MailManagerIngressPoint",
    "AWS::SES::ReceiptRuleSet", "AWS::SES::ReceiptRule", "AWS::SES::ReceiptFilter", "AWS::Route53::RecordSet",
    "AWS::IAM::Role", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::Bucket", "AWS::S3::BucketPolicy",
    "AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::SecretsManager::ResourcePolicy",
    "AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Logs::LogGroup",
]

root = pathlib.Path(cfnlint.__file__).parent / "data" / "schemas"
providers = root / "providers"
index = json.loads((providers / "us-east-1.json").read_text())
regions = sorted(f.stem for f in providers.glob("*.json") if f.stem != "sam")
by_region = {r: set(json.loads((providers / f"{r}.json").read_text())) for r in regions}

types = {}
for t in TYPES:
    if t not in index:
        sys.exit(f"unknown type {t}")
    schema = json.loads((root / "resources" / f"{index[t]}.json").read_text())
    strip = lambda ps: sorted(p.removeprefix("/properties/") for p in ps)
    types[t] = {
        "regions": [r for r in regions if t in by_region[r]],
        "create_only": strip(schema.get("createOnlyProperties", [])),
        "properties": sorted(schema.get("properties", {})),
        "read_only": strip(schema.get("readOnlyProperties", [])),
    }

from importlib.metadata import version
out = {"cfn_lint_version": version("cfn-lint"), "regions": regions, "types": types}
path = pathlib.Path(__file__).resolve().parent.parent / "src" / "data" / "cfn.json"
path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
print(f"wrote {path}")
