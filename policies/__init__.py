"""What a loyalty program is: the policy model, the rules engine and publishing.

This package is the bottom layer of MemberLab: it imports nothing else of the project, and
the live loyalty system can use it alone (`load_published` plus the rules in
`policies.rules`).
"""

from policies.diff import describe_changes
from policies.errors import (
    PolicyError,
    PolicyValidationError,
    PublishedPolicyError,
    PublishError,
    StalePublishError,
)
from policies.io import (
    canonical_json,
    content_id,
    dump_policy,
    load_policy,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
    save_policy,
)
from policies.model import SCHEMA_VERSION, Campaign, Policy, Tier
from policies.publish import (
    PublishedPolicy,
    audit_log,
    history,
    load_published,
    publish,
    rollback,
)

__all__ = [
    "SCHEMA_VERSION",
    "Campaign",
    "Policy",
    "PolicyError",
    "PolicyValidationError",
    "PublishError",
    "PublishedPolicyError",
    "StalePublishError",
    "PublishedPolicy",
    "Tier",
    "audit_log",
    "canonical_json",
    "content_id",
    "describe_changes",
    "dump_policy",
    "history",
    "load_published",
    "load_policy",
    "parse_policy",
    "policy_from_dict",
    "policy_to_dict",
    "publish",
    "rollback",
    "save_policy",
]
