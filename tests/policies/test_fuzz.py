"""Fuzzing the policy loader with mutated example policies.

Every document is one of the shipped examples with one to four mutations of its data (a
value replaced by a hostile one, a key dropped or added, a list item repeated) and, for
some, of its text (truncated, a character inserted, a line repeated, an alias bomb added),
then read as YAML or JSON through `policies.io.parse_policy`, as the CLI and the designer's
YAML box do. Either it is refused with a bounded `PolicyValidationError`, or it becomes a
policy whose every number is finite and which survives dump and load unchanged. Anything
else (another exception, a hang) fails the test.

The default run checks 2,000 documents; more with the ``fuzz-long`` profile:
``MEMBERLAB_FUZZ_PROFILE=fuzz-long python -m pytest tests/policies/test_fuzz.py``.
Figures: ``--hypothesis-show-statistics`` shows how many were accepted and refused.
"""

import copy
import json
import math
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from policies.errors import PolicyValidationError
from policies.io import canonical_json, dump_policy, load_policy, parse_policy, policy_to_dict

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "policies" / "examples").glob("*.yaml"))
BASES = [policy_to_dict(load_policy(path)) for path in EXAMPLES]

settings.register_profile(
    "fuzz-default",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-long", parent=settings.get_profile("fuzz-default"), max_examples=50_000
)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
PROFILE = settings.get_profile(os.environ.get("MEMBERLAB_FUZZ_PROFILE", "fuzz-default"))

HOSTILE = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            -1,
            10**30,
            -(10**30),
            1e-300,
            1e300,
            "",
            " ",
            "\x00",
            "\x1b[2J",
            "x" * 5000,
            "2025-02-30",
            "9999-12-31",
            "0001-01-01",
            "Infinity",
            [],
            {},
            [1, 2, 3],
            {"kind": "none"},
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=30),
)

ALIAS_BOMB = 'bomb: &b0 ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"bomb{i}: &b{i} [{','.join([f'*b{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


def _slots(data, out):
    """Every (container, key) in the document, depth first."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        out.append((data, key))
        if isinstance(value, dict | list):
            _slots(value, out)
    return out


@st.composite
def mutated_documents(draw):
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(data, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add", "repeat"]))
        if action == "replace":
            container[key] = copy.deepcopy(draw(HOSTILE))
        elif action == "drop":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[draw(st.sampled_from(["extra", "Name", "tiers ", "0"]))] = copy.deepcopy(
                draw(HOSTILE)
            )
        elif isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif isinstance(container[key], list) and container[key]:
            container[key].append(copy.deepcopy(container[key][0]))
    # JSON text is also YAML (flow style): reading it with the YAML loader exercises that
    # loader at a fraction of the cost of dumping block YAML for every document.
    style = draw(st.sampled_from(["json", "yaml-flow", "yaml-block"]))
    if style == "yaml-block":
        text = yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=100)
    else:
        text = json.dumps(data, ensure_ascii=False, default=str)
    fmt = "json" if style == "json" else "yaml"
    edit = draw(st.sampled_from(["none", "none", "truncate", "insert", "repeat_line", "bomb"]))
    if edit == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif edit == "insert":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from([":", "-", "&a", "*a", "!!", "{", "\t", "'"]))
            + text[at:]
        )
    elif edit == "repeat_line":
        lines = text.splitlines(keepends=True)
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        text = "".join(lines[: at + 1] + lines[at:])
    elif edit == "bomb" and style == "yaml-block":
        text = ALIAS_BOMB + text
    return text, fmt


def _numbers(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, float | int) and not isinstance(value, bool):
        yield value


@settings(PROFILE)
@given(document=mutated_documents())
def test_mutated_policies_are_refused_with_a_message_or_accepted_finite(document):
    text, fmt = document
    try:
        policy = parse_policy(text, "fuzzed.yaml", fmt)
    except PolicyValidationError as exc:
        event("refused with a message")
        assert exc.problems
        assert len(str(exc)) < 6_000
        return
    event("accepted")
    data = policy_to_dict(policy)
    assert all(math.isfinite(number) for number in _numbers(data))
    assert all(abs(number) < 2**63 for number in _numbers(data))
    canonical_json(policy)  # strict JSON: raises on a non-finite number
    for out in ("yaml", "json"):
        assert parse_policy(dump_policy(policy, out), "again", out) == policy
