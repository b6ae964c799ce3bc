"""Tests of ``python -m policies``: failure paths in real processes, the main flow in-process."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from policies.errors import PublishedPolicyError
from policies.io import load_policy
from policies.publish import audit_log, history, load_published, publish

REPO_ROOT = Path(__file__).resolve().parents[2]


def cli_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERLAB_")}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["MEMBERLAB_DATA_DIR"] = str(tmp_path / "var")
    env.update(extra)
    return env


def run_cli(tmp_path, *args, **env):
    result = subprocess.run(
        [sys.executable, "-m", "policies", *map(str, args)],
        cwd=tmp_path,
        env=cli_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def run_main(capsys, *args):
    """The same command run inside the test process (no interpreter start-up to pay for)."""
    from policies.cli import main

    capsys.readouterr()
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def start_cli(tmp_path, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "policies", *map(str, args)],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_variant(tmp_path, classic_data, name, edit):
    edit(classic_data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(classic_data, allow_unicode=True), encoding="utf-8")
    return path


def gold(threshold):
    def edit(data):
        data["tiers"]["tiers"][2]["threshold"] = threshold

    return edit


def test_validate_all_examples(tmp_path, example_paths):
    result = run_cli(tmp_path, "validate", *example_paths)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nOK ") + result.stdout.startswith("OK ") == len(example_paths)


BAD_FILES = {
    "negative_rate.yaml": (
        lambda d: d["points"]["earn"].update(points_per_unit=-2),
        ["points.earn.points_per_unit", "greater than 0", "(got -2)"],
    ),
    "thresholds.yaml": (
        gold(2000),
        ["tiers[2].threshold(=2000)", "Gold", "thresholds must increase"],
    ),
    "unknown_tier.yaml": (
        lambda d: d["campaigns"][0]["target"].update(tiers=["Platinum"]),
        ["campaigns[0]", "Platinum", "known tiers:"],
    ),
    "ends_early.yaml": (
        lambda d: d["campaigns"][1].update(end="2022-12-31"),
        ["campaigns[1]", "end(=2022-12-31)", "start(=2023-01-01)"],
    ),
    "window.yaml": (
        lambda d: d["points"]["redemption"]["windows"][0].update(end_month=13),
        ["points.redemption.windows[0].end_month", "(got 13)", "less than or equal to 12"],
    ),
    "exclusive.yaml": (
        lambda d: d["campaigns"][1].update(stacking="exclusive"),
        ["campaigns[0] (member-day) and campaigns[1] (birthday-double)", "'exclusive'"],
    ),
}


def test_validate_names_field_value_and_fix(tmp_path, classic_data):
    paths = [
        write_variant(tmp_path, json.loads(json.dumps(classic_data)), name, edit)
        for name, (edit, _) in BAD_FILES.items()
    ]
    result = run_cli(tmp_path, "validate", *paths)
    assert result.returncode == 1
    assert result.stdout == ""
    reports = {}
    for line in result.stderr.splitlines():
        if " is not a valid policy " in line:
            current = Path(line.split(" is not a valid policy ")[0]).name
            reports[current] = []
        else:
            reports[current].append(line)
    assert sorted(reports) == sorted(BAD_FILES)
    for name, (_, expected) in BAD_FILES.items():
        for fragment in expected:
            assert fragment in "\n".join(reports[name]), (name, fragment)


def test_validate_malformed_yaml_and_missing_file(tmp_path, classic_path):
    (tmp_path / "broken.yaml").write_text("program:\n  name: [oops\n", encoding="utf-8")
    result = run_cli(tmp_path, "validate", classic_path, "broken.yaml", "missing.yaml")
    assert result.returncode == 1
    assert "OK " in result.stdout  # the good file is still reported
    assert "broken.yaml is not a valid policy" in result.stderr
    assert "not valid YAML/JSON at line" in result.stderr
    assert "missing.yaml is not a valid policy" in result.stderr
    assert "file not found" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    result = run_cli(tmp_path, "rollback", "--to", "three")
    assert result.returncode == 2 and "invalid int value" in result.stderr


def test_diff_in_plain_language(capsys, tmp_path, classic_path, classic_data):
    new = write_variant(tmp_path, classic_data, "new.yaml", gold(8000))
    result = run_main(capsys, "diff", classic_path, new)
    assert result.returncode == 0
    assert "  - Gold threshold: ¥10,000 → ¥8,000" in result.stdout.splitlines()
    chinese = run_main(capsys, "diff", classic_path, new, "--lang", "zh")
    assert "  - 金卡 门槛：¥10,000 → ¥8,000" in chinese.stdout.splitlines()
    assert chinese.stdout.splitlines()[0].endswith("共 1 处变化：")  # the header too
    same = run_main(capsys, "diff", classic_path, classic_path, "--lang", "zh")
    assert same.stdout.startswith("会员无任何变化")


def test_publish_history_rollback_status(capsys, tmp_path, classic_path, classic_data):
    target = tmp_path / "live" / "policy.json"
    first = run_main(
        capsys, "publish", classic_path, "--target", target, "--note", "launch", "--by", "ann"
    )
    assert first.returncode == 0, first.stderr
    assert "Published version 1" in first.stdout

    again = run_main(capsys, "publish", classic_path, "--target", target)
    assert again.returncode == 0 and "Already live" in again.stdout and "version 1" in again.stdout

    new = write_variant(tmp_path, classic_data, "gold8k.yaml", gold(8000))
    second = run_main(
        capsys, "publish", new, "--target", target, "--note", "Gold 8k", "--expect-version", "1"
    )
    assert second.returncode == 0, second.stderr
    assert "Published version 2 from version 1" in second.stdout
    assert "Gold threshold: ¥10,000 → ¥8,000" in second.stdout

    back = run_main(capsys, "rollback", "--to", "1", "--target", target, "--note", "undo")
    assert back.returncode == 0, back.stderr
    assert "Published version 3 from version 2" in back.stdout
    assert "Gold threshold: ¥8,000 → ¥10,000" in back.stdout

    listing = run_main(capsys, "history", "--target", target)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()[1:]
    assert [line[2:].split()[0] for line in lines] == ["v1", "v2", "v3"]
    assert lines[0].rstrip().endswith("launch") and "ann" in lines[0]
    assert lines[2].startswith("* v3") and "rollback to v1" in lines[2]

    status = run_main(capsys, "status", "--target", target)
    assert status.returncode == 0 and "version 3, checksum verified" in status.stdout

    assert [e.action for e in audit_log(target)] == ["publish", "publish", "rollback"]
    assert load_published(target).note == "undo"


def test_default_target_from_the_environment(tmp_path, classic_path):
    target = tmp_path / "configured.json"
    result = run_cli(tmp_path, "publish", classic_path, MEMBERLAB_PUBLISH_TARGET=str(target))
    assert result.returncode == 0, result.stderr
    assert load_published(target).version == 1
    assert not (tmp_path / "var").exists()


def test_default_target_is_in_the_data_folder(tmp_path, classic_path):
    result = run_cli(tmp_path, "publish", classic_path)
    assert result.returncode == 0, result.stderr
    assert load_published(tmp_path / "var" / "live" / "policy.json").version == 1


def test_invalid_policy_is_not_published(tmp_path, classic_path, classic_data):
    target = tmp_path / "policy.json"
    publish(load_policy(classic_path), target)
    before = target.read_bytes()
    bad = write_variant(tmp_path, classic_data, "bad.yaml", gold(100))
    result = run_cli(tmp_path, "publish", bad, "--target", target)
    assert result.returncode == 1
    assert "bad.yaml is not a valid policy" in result.stderr
    assert target.read_bytes() == before
    assert len(history(target)) == 1


def test_target_under_a_regular_file(tmp_path, classic_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = run_cli(tmp_path, "publish", classic_path, "--target", "blocker/live/policy.json")
    assert result.returncode == 3
    assert "publish failed" in result.stderr and "is a file, not a folder" in result.stderr
    assert "the live policy is unchanged" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_target_under_proc(tmp_path, classic_path):
    result = run_cli(tmp_path, "publish", classic_path, "--target", "/proc/memberlab/p.json")
    assert result.returncode == 3
    assert "cannot publish to /proc/memberlab/p.json" in result.stderr


def test_stale_publish_is_refused(tmp_path, classic_path, classic_data):
    target = tmp_path / "policy.json"
    publish(load_policy(classic_path), target)
    publish(load_policy(write_variant(tmp_path, classic_data, "gold8k.yaml", gold(8000))), target)
    late = write_variant(tmp_path, classic_data, "gold9k.yaml", gold(9000))
    result = run_cli(tmp_path, "publish", late, "--target", target, "--expect-version", "1")
    assert result.returncode == 4
    assert "refused" in result.stderr and "--expect-version 2" in result.stderr
    assert load_published(target).version == 2


DAMAGE = {
    "truncated": (lambda text: text[: len(text) // 2], "looks truncated"),
    "tampered": (
        lambda text: text.replace('"threshold": 30000.0', '"threshold": 25000.0'),
        "failed its checksum",
    ),
    "schema": (
        lambda text: text.replace('"schema_version": 1', '"schema_version": 9'),
        "schema_version(=9)",
    ),
    "empty": (lambda text: "", "not valid JSON"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_corrupted_live_file_is_reported(tmp_path, classic_path, kind):
    damage, expected = DAMAGE[kind]
    target = tmp_path / "policy.json"
    publish(load_policy(classic_path), target)
    damaged = damage(target.read_text(encoding="utf-8"))
    assert damaged != target.read_text(encoding="utf-8")
    target.write_text(damaged, encoding="utf-8")
    status = run_cli(tmp_path, "status", "--target", target)
    assert status.returncode == 1
    assert expected in status.stderr
    assert status.stdout == ""


def test_corrupted_live_file_is_repaired_by_publishing(tmp_path, classic_path, classic_data):
    target = tmp_path / "policy.json"
    publish(load_policy(classic_path), target)
    target.write_text(target.read_text(encoding="utf-8")[:200], encoding="utf-8")
    listing = run_cli(tmp_path, "history", "--target", target)
    assert listing.returncode == 0 and "missing or damaged" in listing.stdout
    new = write_variant(tmp_path, classic_data, "gold8k.yaml", gold(8000))
    repair = run_cli(tmp_path, "publish", new, "--target", target, "--note", "repair")
    assert repair.returncode == 0, repair.stderr
    assert "Published version 2 from version 1" in repair.stdout
    assert load_published(target).version == 2


def test_diff_reads_published_files(capsys, tmp_path, classic_path, classic_data):
    target = tmp_path / "policy.json"
    publish(load_policy(classic_path), target)
    new = write_variant(tmp_path, classic_data, "gold8k.yaml", gold(8000))
    result = run_main(capsys, "diff", target, new)
    assert result.returncode == 0 and "Gold threshold: ¥10,000 → ¥8,000" in result.stdout
    target.write_text("{}", encoding="utf-8")
    broken = run_main(capsys, "diff", target, new)
    assert broken.returncode == 1 and "is not a valid policy" in broken.stderr


def test_schema_commands(capsys, tmp_path):
    policy = run_main(capsys, "schema")
    assert policy.returncode == 0
    schema = json.loads(policy.stdout)
    assert schema["$id"] == "urn:memberlab:schema:policy:v1"
    assert "Policy" not in schema.get("$defs", {})  # the root is the policy itself
    published = json.loads(run_main(capsys, "schema", "--published").stdout)
    assert published["$id"] == "urn:memberlab:schema:published-policy:v1"
    assert "Policy" in published["$defs"]


def _watch_live_file(target, processes):
    """Load the live file again and again while ``processes`` run; return the versions seen."""
    seen = []
    while any(p.poll() is None for p in processes):
        if target.exists():
            seen.append(load_published(target).version)  # raises if ever half-written
        time.sleep(0.002)  # leave the cores to the publishers
    return seen


def test_concurrent_publishes_get_distinct_consecutive_versions(tmp_path, classic_data):
    target = tmp_path / "policy.json"
    files = [
        write_variant(tmp_path, json.loads(json.dumps(classic_data)), f"p{i}.yaml", gold(t))
        for i, t in enumerate(range(5000, 9000, 1000))
    ]
    processes = [
        start_cli(tmp_path, "publish", f, "--target", target, "--by", f.stem) for f in files
    ]
    seen = _watch_live_file(target, processes)
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0] * len(files), outputs
    assert all("Traceback" not in err for _, err in outputs)
    versions = history(target)
    assert [v.version for v in versions] == list(range(1, len(files) + 1))
    assert sorted(v.published_by for v in versions) == sorted(f.stem for f in files)
    assert load_published(target) == versions[-1]
    assert [e.from_version for e in audit_log(target)] == [None, 1, 2, 3]
    assert seen == sorted(seen)  # a reader never sees the version go backwards


def test_concurrent_publishes_with_expect_version_let_one_win(tmp_path, classic_data):
    target = tmp_path / "policy.json"
    files = [
        write_variant(tmp_path, json.loads(json.dumps(classic_data)), f"p{i}.yaml", gold(t))
        for i, t in enumerate(range(5000, 9000, 1000))
    ]
    processes = [
        start_cli(tmp_path, "publish", f, "--target", target, "--expect-version", "0")
        for f in files
    ]
    outputs = [p.communicate(timeout=60) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 4, 4, 4], outputs
    for process, (_, err) in zip(processes, outputs, strict=True):
        if process.returncode == 4:
            assert "refused" in err and "based on version 0" in err
    assert [v.version for v in history(target)] == [1]
    assert load_published(target).version == 1


def test_load_published_error_is_typed(tmp_path):
    (tmp_path / "policy.json").write_text('{"format": "memberlab.published-policy"', "utf-8")
    with pytest.raises(PublishedPolicyError, match="looks truncated"):
        load_published(tmp_path / "policy.json")


def test_validate_checks_published_files_too(capsys, tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    good = run_main(capsys, "validate", target)
    assert good.returncode == 0 and good.stdout.startswith(f"OK {target}")
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace('"discount_pct": 8.0', '"discount_pct": 18.0'), "utf-8")
    bad = run_main(capsys, "validate", target)
    assert bad.returncode == 1 and "failed its checksum" in bad.stderr
