"""What a loyalty program is: the policy model, the rules engine and publishing.

This package is the bottom layer of MemberLab: it imports nothing else of the project, and
the live loyalty system can use it alone (`load_published` plus the rules in
`policies.rules`).
"""

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

__all__ = [
    "SCHEMA_VERSION",
    "Campaign",
    "Policy",
    "PolicyError",
    "PolicyValidationError",
    "PublishError",
    "PublishedPolicyError",
    "StalePublishError",
    "Tier",
    "canonical_json",
    "content_id",
    "dump_policy",
    "load_policy",
    "parse_policy",
    "policy_from_dict",
    "policy_to_dict",
    "save_policy",
]
