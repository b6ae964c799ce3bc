"""Publish: validate the policy being edited, see what changes, publish, roll back.

Publishing goes through `policies.publish`, which locks the live file, refuses a publish
based on a version that is no longer live (compare-and-set on ``expect_version``) and
replaces the file atomically, so several browser sessions cannot corrupt it.
"""

import logging
import os

import pandas as pd
import streamlit as st

import store
from app import database, state
from app.formatting import blank_missing, problem_text, short_id
from app.i18n import current_language, t
from policies import (
    PolicyError,
    PolicyValidationError,
    content_id,
    policy_from_dict,
    policy_to_dict,
)
from policies import diff as differ
from policies.errors import PublishedPolicyError, StalePublishError
from policies.publish import (
    audit_log,
    current_version,
    damage,
    default_target,
    history,
    load_published,
    publish_policy,
    rollback_policy,
)
from policies.publishers import PUBLISHER_SECRET_ENV, authenticate, parse_publishers

log = logging.getLogger(__name__)
PUBLISHER = "ml_publisher"


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def _configured_publishers() -> tuple[dict[str, str], str | None]:
    text = os.environ.get(PUBLISHER_SECRET_ENV)
    if text is None:
        try:
            text = st.secrets.get("memberlab", {}).get("publishers")
        except Exception:  # no secrets file
            text = None
    try:
        return parse_publishers(text), None
    except ValueError as exc:
        return {}, str(exc)


def publisher_identity() -> str | None:
    """Who is logged in as a publisher (None: publishing and rollback stay read-only)."""
    if _oidc_configured():
        if st.user.is_logged_in:
            who = st.user.get("email") or st.user.get("name") or "unknown"
            c1, c2 = st.columns([3, 1])
            c1.caption(t("publish.logged_in", name=who))
            c2.button(t("publish.logout"), on_click=st.logout, key="publish_logout")
            return str(who)
        st.button(t("publish.login_oidc"), on_click=st.login, key="publish_login_oidc")
        return None
    publishers, problem = _configured_publishers()
    if problem:
        log.warning("publisher configuration refused: %s", problem)
    if not publishers:
        st.info(t("publish.read_only"))
        return None
    if st.session_state.get(PUBLISHER) in publishers:
        who = st.session_state[PUBLISHER]
        c1, c2 = st.columns([3, 1])
        c1.caption(t("publish.logged_in", name=who))
        if c2.button(t("publish.logout"), key="publish_logout"):
            st.session_state.pop(PUBLISHER, None)
            st.rerun()
        return who
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    name = c1.text_input(t("publish.login_name"), key="publish_login_name")
    secret = c2.text_input(t("publish.login_secret"), type="password", key="publish_login_secret")
    if c3.button(t("publish.login_button"), key="publish_login"):
        who = authenticate(publishers, name, secret)
        if who is None:
            log.warning("failed publisher login for %r", name[:60])
            st.error(t("publish.login_failed"))
        else:
            st.session_state[PUBLISHER] = who
            st.rerun()
    return None


def failure_summary(exc: Exception) -> str:
    """An actionable first line for the browser; the full message goes to the server log."""
    log.warning("publish or rollback failed: %s", exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."


st.title(t("publish.title"))
state.show_flash()

policy = state.policy()
target = default_target()


def record(outcome) -> None:
    """Keep the new live version in the database too (the live file stays authoritative)."""
    if not outcome.changed:
        return
    database.prepare()
    envelope = outcome.published
    try:
        store.record_publication(
            envelope.version,
            envelope.policy,
            published_by=envelope.published_by,
            note=envelope.note,
            action=envelope.action,
            restored_from=envelope.restored_from,
            diff=list(outcome.diff),
            published_at=envelope.published_at,
            checksum=envelope.checksum,
        )
    except (store.StoreError, ValueError) as exc:
        state.flash(t("publish.not_recorded", version=envelope.version, error=exc), "warning")


st.caption(t("publish.target", target=target))

# -- What is live now -----------------------------------------------------------------------
live = None
live_error = None
try:
    live = load_published(target)
except PublishedPolicyError as exc:
    if target.exists():
        live_error = str(exc)
live_version = current_version(target)
# Compare-and-set: a publish is based on the version shown when the user confirmed, so a
# publish from another session in between makes this one fail instead of overwriting it.
SHOWN, REVIEWED = "ml_publish_shown", "ml_publish_reviewed"
st.session_state[SHOWN] = live_version


def remember_review(checkbox_key: str) -> None:
    if st.session_state.get(checkbox_key):
        st.session_state[REVIEWED] = st.session_state.get(SHOWN, 0)
    else:
        st.session_state.pop(REVIEWED, None)


def reviewed_version() -> int:
    return st.session_state.get(REVIEWED, live_version)


st.subheader(t("publish.live"))
if live is not None:
    c1, c2, c3 = st.columns([1, 2, 1])
    c1.metric(t("publish.version"), live.version)
    c2.metric(t("publish.published_at"), live.published_at.strftime("%Y-%m-%d %H:%M UTC"))
    c3.metric(t("publish.checksum"), short_id(live.checksum))
    # Plain text, never markdown: a note is free text (links, images, fake headings).
    st.text(
        t(
            "publish.live_summary",
            name=live.policy.program.name,
            by=live.published_by,
            note=live.note or "–",
        )
    )
    c1, c2 = st.columns(2)
    c1.download_button(
        t("publish.download_live"),
        data=target.read_bytes(),
        file_name=target.name,
        mime="application/json",
        key="publish_download_live",
    )
    if c2.button(t("publish.edit_live"), key="publish_edit_live"):
        state.set_policy(live.policy, f"live:v{live.version}")
        state.flash(t("publish.loaded_live", version=live.version))
        st.rerun()
elif live_error:
    st.error(t("publish.live_damaged", error=live_error))
else:
    st.info(t("publish.nothing_live"))

# -- Validation and diff --------------------------------------------------------------------
st.subheader(t("publish.candidate"))
st.write(
    t(
        "publish.candidate_summary",
        name=policy.program.name,
        source=state.source_label(),
        id=short_id(content_id(policy)),
    )
)
try:
    policy_from_dict(policy_to_dict(policy), t("publish.candidate"))
except PolicyValidationError as exc:
    valid = False
    st.error(t("publish.invalid", count=len(exc.problems)))
    for path, message in exc.problems:
        st.error(problem_text(path, message))
else:
    valid = True
    st.success(t("publish.valid"), icon=":material/check_circle:")

same_as_live = live is not None and live.checksum == content_id(policy)
if live is not None:
    changes = differ.describe_changes(live.policy, policy, lang=current_language())
    if same_as_live or not changes:
        st.info(t("publish.same_as_live"))
    else:
        st.markdown(t("publish.changes", count=len(changes)))
        st.container(key="policy_changes").markdown("\n".join(f"- {change}" for change in changes))

# -- Publish --------------------------------------------------------------------------------
st.subheader(t("publish.action"))
# Publishing and rollback need an authenticated publisher; ``by`` is that identity.
by = publisher_identity()
note = st.text_input(t("publish.note"), key="publish_note", placeholder=t("publish.note_hint"))
# A new checkbox after each publish or rollback from this session, so it starts unticked.
PUBLISHED = "ml_publish_count"
confirm_key = f"publish_confirm_{st.session_state.get(PUBLISHED, 0)}"
confirm = st.checkbox(
    t("publish.confirm", version=live_version + 1, target=target.name),
    key=confirm_key,
    on_change=remember_review,
    args=(confirm_key,),
)
if confirm and reviewed_version() != live_version:
    st.warning(t("publish.moved", reviewed=reviewed_version(), live=live_version))
ready = by is not None and valid and confirm and bool(note.strip()) and not same_as_live
if not note.strip():
    st.caption(t("publish.need_note"))
if st.button(t("publish.button"), type="primary", disabled=not ready, key="publish_button"):
    try:
        outcome = publish_policy(
            policy,
            target=target,
            note=note.strip(),
            by=by,
            expect_version=reviewed_version(),
        )
    except StalePublishError:
        st.error(t("publish.stale"))
    except PolicyError as exc:
        st.error(t("publish.failed", error=failure_summary(exc)))
    else:
        st.session_state.pop(REVIEWED, None)
        st.session_state[PUBLISHED] = st.session_state.get(PUBLISHED, 0) + 1
        state.flash(t("publish.done", version=outcome.published.version))
        record(outcome)
        st.rerun()

# -- History and rollback -------------------------------------------------------------------
st.subheader(t("publish.history"))
# A damaged history file or audit line is skipped and reported; the rest stays usable.
versions = history(target)
audit = audit_log(target)
for problem in damage(target):
    st.warning(t("publish.history_damaged", error=problem))
if not versions:
    st.info(t("publish.no_history"))
    st.stop()
diffs = {entry.version: entry.diff for entry in audit}
table = pd.DataFrame(
    [
        {
            t("publish.version"): item.version,
            t("publish.published_at"): item.published_at.strftime("%Y-%m-%d %H:%M:%S"),
            t("publish.by"): item.published_by,
            t("publish.action_col"): (
                t("publish.rollback_of", version=item.restored_from)
                if item.action == "rollback"
                else t("publish.action_publish")
            ),
            t("publish.note"): item.note,
            t("publish.checksum"): short_id(item.checksum),
            t("publish.changes_col"): len(diffs.get(item.version, ())),
        }
        for item in reversed(versions)
    ]
)
st.dataframe(blank_missing(table), hide_index=True, width="stretch")
# What changed is said in the page's language from the two versions themselves; the lines
# recorded at publish time (English) are shown only when a version cannot be read any more.
policies_by_version = {item.version: item.policy for item in versions}
with st.expander(t("publish.audit")):
    for entry in reversed(audit):
        action = (
            t("publish.rollback_of", version=entry.restored_from)
            if entry.action == "rollback"
            else t("publish.action_publish")
        )
        st.text(f"v{entry.version} · {entry.when} · {entry.who} · {action} · {entry.note}")
        before = policies_by_version.get(entry.from_version)
        after = policies_by_version.get(entry.version)
        lines = (
            differ.describe_changes(before, after, lang=current_language())
            if before is not None and after is not None
            else entry.diff
        )
        if lines:
            st.text("\n".join(f"  - {line}" for line in lines))

earlier = [item.version for item in versions if item.version != live_version]
if earlier:
    st.subheader(t("publish.rollback"))
    c1, c2 = st.columns([1, 2])
    restore = c1.selectbox(
        t("publish.rollback_to"), list(reversed(earlier)), key="publish_rollback_version"
    )
    rollback_note = c2.text_input(t("publish.rollback_note"), key="publish_rollback_note")
    rollback_key = f"publish_rollback_confirm_{st.session_state.get(PUBLISHED, 0)}"
    rollback_confirm = st.checkbox(
        t("publish.rollback_confirm", version=restore, new=live_version + 1),
        key=rollback_key,
        on_change=remember_review,
        args=(rollback_key,),
    )
    if st.button(
        t("publish.rollback_button"),
        disabled=by is None or not rollback_confirm,
        key="publish_rollback",
    ):
        try:
            outcome = rollback_policy(
                target,
                int(restore),
                note=rollback_note.strip(),
                by=by,
                expect_version=reviewed_version(),
            )
        except StalePublishError:
            st.error(t("publish.stale"))
        except PolicyError as exc:
            st.error(t("publish.failed", error=failure_summary(exc)))
        else:
            st.session_state.pop(REVIEWED, None)
            st.session_state[PUBLISHED] = st.session_state.get(PUBLISHED, 0) + 1
            state.flash(t("publish.rolled_back", version=restore, new=outcome.published.version))
            record(outcome)
            st.rerun()
