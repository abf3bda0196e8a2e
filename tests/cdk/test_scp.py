"""The service control policies shipped in cdk/scp/, checked with moto's IAM policy validator.
It checks the policy grammar (version, effects, action and resource forms, condition
operators) and nothing more: not what a policy means, and not SCP-only rules (AWS Organizations
validates those when the policy is attached). What each policy denies, and to whom, is pinned by
cdk/test/scp.test.ts against the stack's own names."""

from __future__ import annotations

import json
import pathlib

import pytest
from moto.iam.policy_validation import IAMPolicyDocumentValidator

SCPS = sorted((pathlib.Path(__file__).resolve().parents[2] / "cdk/scp").glob("*.json"))


@pytest.mark.parametrize("path", SCPS, ids=lambda p: p.name)
def test_each_scp_is_a_valid_policy_document(path: pathlib.Path):
    IAMPolicyDocumentValidator(path.read_text()).validate()


def test_the_validator_refuses_what_is_malformed():
    # So the check above can fail: an action without its service, a resource that is no ARN.
    for statement in ({"Effect": "Deny", "Action": "StopLogging", "Resource": "*"},
                      {"Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "trail/x"},
                      {"Effect": "Block", "Action": "cloudtrail:StopLogging", "Resource": "*"}):
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        with pytest.raises(Exception):
            IAMPolicyDocumentValidator(document).validate()


@pytest.mark.parametrize("path", SCPS, ids=lambda p: p.name)
def test_each_scp_fits_organizations_quota(path: pathlib.Path):
    # AWS Organizations: an SCP document has at most 5,120 characters, white space included; the
    # README attaches each minified (`jq -c`), and so it must fit.
    minified = json.dumps(json.loads(path.read_text()), separators=(",", ":"))
    assert len(minified) <= 5120, f"{path.name}: {len(minified)} characters minified"
