"""Publishing under crashes and damage: history and audit say exactly what went live.

Publishers are killed with SIGKILL at random moments (forked children publishing in a
loop); after each kill, recovery runs and the live file, the history folder and the audit
log must agree exactly: every history version has one audit line with its checksum, the
live file is the latest history file byte for byte, versions run 1..N, and no temporary or
pending file is left. Also: the envelope checksum, target edge cases, symlinked targets,
damaged history files and audit lines, and escape codes in notes.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from policies.errors import PublishedPolicyError, PublishError
from policies.io import load_policy
from policies.publish import (
    audit_log,
    audit_path,
    damage,
    history,
    history_dir,
    load_published,
    publish,
    publish_policy,
    recover,
    rollback,
)


@pytest.fixture(scope="module")
def two_policies(example_paths):
    return [load_policy(path) for path in example_paths[:2]]


def disagreements(target) -> list[str]:
    """Every way live, history and audit disagree (empty when consistent)."""
    found = []
    folder = history_dir(target)
    names = sorted(os.listdir(folder)) if folder.exists() else []
    leftovers = [n for n in names if n.endswith((".tmp", ".pending"))]
    leftovers += [n for n in os.listdir(target.parent) if n.endswith(".tmp")]
    if leftovers:
        found.append(f"leftover files: {leftovers}")
    versions = history(target)
    entries = audit_log(target)
    found += [f"damaged: {problem}" for problem in damage(target)]
    numbers = [v.version for v in versions]
    if numbers != list(range(1, len(numbers) + 1)):
        found.append(f"history versions not 1..N: {numbers}")
    if [e.version for e in entries] != numbers:
        found.append(f"audit {[e.version for e in entries]} != history {numbers}")
    for version, entry in zip(versions, entries, strict=False):
        if version.checksum != entry.checksum or version.version != entry.version:
            found.append(f"audit line of v{entry.version} does not match its history file")
    if target.exists():
        live = load_published(target)
        if not numbers or live.version != numbers[-1]:
            found.append(f"live v{live.version} is not the latest history version {numbers}")
        elif target.read_bytes() != (folder / f"v{live.version:06d}.json").read_bytes():
            found.append("live file differs from its history file")
    elif numbers:
        found.append("history lists versions but nothing is live")
    return found


def kill_publishers(target, policies, kills: int, seed: int) -> tuple[Counter, list[str]]:
    """Fork a publisher ``kills`` times and SIGKILL it at a random moment; check after each.

    Returns what recovery found after the kills (completed, undone, temporary files) and
    every disagreement seen.
    """
    rng = random.Random(seed)
    problems = []
    found = Counter()
    for kill in range(kills):
        pid = os.fork()
        if pid == 0:  # the publisher: publish alternating contents until killed
            try:
                for i in range(10_000):
                    publish_policy(
                        policies[(kill + i) % 2], target, note=f"kill {kill} try {i}", by="crash"
                    )
            finally:
                os._exit(0)
        # A publish takes tens of milliseconds (validation, diff, four fsyncs): the kill
        # lands before, inside or between publishes.
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        found["kills"] += 1
        for line in recover(target):
            found[_kind(line)] += 1
        problems += [f"after kill {kill}: {p}" for p in disagreements(target)]
    found["versions"] = len(history(target))
    return found, problems


def _kind(line: str) -> str:
    for word in ("never went live", "completed", "temporary", "torn"):
        if word in line:
            return word
    return line


def test_killed_publishers_leave_history_and_audit_exact(tmp_path, two_policies):
    target = tmp_path / "live" / "policy.json"
    found, problems = kill_publishers(target, two_policies, kills=12, seed=1)
    assert problems == []
    assert found["versions"] >= 1


@pytest.mark.slow
def test_three_hundred_killed_publishers_leave_history_and_audit_exact(tmp_path, two_policies):
    target = tmp_path / "live" / "policy.json"
    found, problems = kill_publishers(target, two_policies, kills=300, seed=7)
    print(f"\nkill -9 of publishers: {dict(found)}; disagreements: {len(problems)}")
    assert found["kills"] == 300
    assert problems == []
    # The kills did land mid-publish: recovery had work to do.
    assert found["never went live"] + found["completed"] + found["temporary"] > 0


def test_interrupted_publish_is_completed_or_undone(tmp_path, two_policies):
    target = tmp_path / "policy.json"
    publish(two_policies[0], target, note="first")
    # Prepared but never switched: the pending version never went live.
    live = load_published(target)
    pending = history_dir(target) / "v000002.pending"
    pending.write_text(live.model_copy(update={"version": 2}).sealed().to_json(), encoding="utf-8")
    (history_dir(target) / ".v000003.pending.abc.tmp").write_text("half", encoding="utf-8")
    (tmp_path / ".policy.json.xyz.tmp").write_text("half", encoding="utf-8")
    done = recover(target)
    assert any("never went live" in line for line in done)
    assert disagreements(target) == []
    # Switched but not committed: the live file shows it, so it is committed on recovery.
    second = publish(two_policies[1], target, note="second")
    (history_dir(target) / "v000002.json").rename(history_dir(target) / "v000002.pending")
    lines = audit_path(target).read_bytes().splitlines(keepends=True)
    audit_path(target).write_bytes(b"".join(lines[:-1]) + lines[-1][:20])  # torn last line
    recover(target)
    assert disagreements(target) == []
    assert [e.version for e in audit_log(target)] == [1, 2]
    assert audit_log(target)[-1].note == "second" and history(target)[-1] == second


def test_envelope_checksum_covers_the_version(tmp_path, two_policies):
    target = tmp_path / "policy.json"
    publish(two_policies[0], target)
    text = target.read_text(encoding="utf-8").replace('"version": 1,', '"version": 99,')
    target.write_text(text, encoding="utf-8")
    with pytest.raises(PublishedPolicyError, match="envelope checksum"):
        load_published(target)
    status = subprocess.run(
        [sys.executable, "-m", "policies", "status", "--target", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 1 and "envelope checksum" in status.stderr


def test_published_file_is_strict_json(tmp_path, two_policies):
    target = tmp_path / "policy.json"
    publish(two_policies[0], target)

    def refuse(name):
        raise ValueError(name)

    json.loads(target.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.mark.parametrize("target", ["", " ", ".", "/", ".."])
def test_empty_or_folder_targets_are_refused(two_policies, target):
    with pytest.raises(PublishError, match="empty|folder"):
        publish(two_policies[0], target)


@pytest.mark.parametrize("target", ["", ".", "/"])
def test_cli_target_edge_cases_are_messages(tmp_path, example_paths, target):
    result = subprocess.run(
        [sys.executable, "-m", "policies", "publish", str(example_paths[0]), "--target", target],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode in (2, 3)
    assert "Traceback" not in result.stderr
    assert "empty" in result.stderr or "folder" in result.stderr


def test_symlinked_live_file_replaces_the_real_file(tmp_path, two_policies):
    real = tmp_path / "real" / "policy.json"
    real.parent.mkdir()
    publish(two_policies[0], real, note="via the real path")
    link = tmp_path / "policy.json"
    link.symlink_to(real)
    publish(two_policies[1], link, note="via the link")
    assert link.is_symlink()
    assert load_published(real).version == 2
    assert [v.note for v in history(link)] == ["via the real path", "via the link"]
    assert not history_dir(link).exists()  # one history, beside the real file
    rollback(link, 1, note="back")
    assert load_published(real).version == 3 and disagreements(real) == []


def test_damaged_history_file_and_audit_line_are_skipped_and_reported(tmp_path, two_policies):
    target = tmp_path / "policy.json"
    for i in range(3):
        publish(two_policies[i % 2], target, note=f"v{i + 1}")
    (history_dir(target) / "v000002.json").write_text("{ not json", encoding="utf-8")
    with audit_path(target).open("ab") as handle:
        handle.write(b'{"action": "publish", "vers\n')
    assert [v.version for v in history(target)] == [1, 3]
    assert [e.version for e in audit_log(target)] == [1, 2, 3]
    problems = damage(target)
    assert len(problems) == 2
    assert any("v000002.json" in p for p in problems) and any("line 4" in p for p in problems)
    result = subprocess.run(
        [sys.executable, "-m", "policies", "history", "--target", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "v1 " in result.stdout and "v3 " in result.stdout
    assert "damaged (skipped)" in result.stderr


def test_escape_codes_and_fake_lines_in_notes_are_neutralised(tmp_path, two_policies):
    target = tmp_path / "policy.json"
    note = "ok\n* v999  2030-01-01  forged line\x1b[2J\x1b]0;pwned\x07"
    publish(two_policies[0], target, note=note, by="eve")
    result = subprocess.run(
        [sys.executable, "-m", "policies", "history", "--target", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert len(result.stdout.strip().splitlines()) == 2  # the heading and v1, nothing forged
    assert "\\x1b[2J" in result.stdout and "\\n* v999" in result.stdout


def test_control_characters_in_the_publisher_name_are_refused(tmp_path, two_policies):
    with pytest.raises(PublishError, match="printable"):
        publish(two_policies[0], tmp_path / "policy.json", by="eve\nadmin")
