"""Who may publish: named publishers, each with a secret, when no single sign-on is set up.

The app prefers Streamlit's built-in OpenID Connect login (``st.login``) when an ``[auth]``
section is configured in its secrets. Otherwise publishers are listed in the environment
variable ``MEMBERLAB_PUBLISHER_SECRET`` (or ``publishers`` in the ``[memberlab]`` section of
the secrets file) as ``name:secret`` pairs separated by commas, e.g.
``ana:long-random-secret,ben:another-secret``. Secrets are compared in constant time
(`hmac.compare_digest`) so a wrong guess says nothing about how close it was. With neither,
nobody can publish from the app.
"""

from __future__ import annotations

import hmac

__all__ = ["PUBLISHER_SECRET_ENV", "authenticate", "parse_publishers"]

PUBLISHER_SECRET_ENV = "MEMBERLAB_PUBLISHER_SECRET"
MIN_SECRET_CHARS = 8


def parse_publishers(text: str | None) -> dict[str, str]:
    """The ``name:secret`` pairs of ``text`` (comma separated) as a mapping.

    Raises:
        ValueError: a pair without a name, or a secret shorter than 8 characters.
    """
    publishers: dict[str, str] = {}
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        name, sep, secret = pair.partition(":")
        name = name.strip()
        if not sep or not name:
            raise ValueError(
                f"{PUBLISHER_SECRET_ENV} must list name:secret pairs separated by commas"
            )
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"the secret of publisher {name!r} is shorter than {MIN_SECRET_CHARS} characters"
            )
        publishers[name] = secret
    return publishers


def authenticate(publishers: dict[str, str], name: str, secret: str) -> str | None:
    """``name`` if it is a publisher and ``secret`` is theirs, else None (constant time)."""
    matched = None
    for known, expected in publishers.items():
        same_name = hmac.compare_digest(known.encode("utf-8"), name.strip().encode("utf-8"))
        same_secret = hmac.compare_digest(expected.encode("utf-8"), secret.encode("utf-8"))
        if same_name and same_secret:
            matched = known
    return matched
