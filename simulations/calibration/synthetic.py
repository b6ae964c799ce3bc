"""Synthetic transaction logs drawn from known BG/NBD and Gamma-Gamma parameters.

Used to check that calibration recovers the parameters it was given (parameter recovery)
and to demonstrate calibration without client data. The generative story is the models'
own (Fader, Hardie & Lee 2005, both papers): each member makes a first purchase on an
acquisition day, then buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``,
drops out after each repeat purchase with probability ``p ~ Beta(a, b)``, and spends
``z ~ Gamma(p_spend, nu)`` per purchase with ``nu ~ Gamma(q, gamma)``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from simulations.behavior import BGNBDParams, GammaGammaParams

__all__ = ["simulate_bgnbd_transactions"]


def simulate_bgnbd_transactions(
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams,
    n_members: int,
    horizon_days: int,
    rng: np.random.Generator,
    start: dt.date = dt.date(2024, 1, 1),
    acquisition_days: int | None = None,
    time_unit: str = "day",
) -> pd.DataFrame:
    """Draw a transaction log from BG/NBD purchases and Gamma-Gamma spend.

    Args:
        bgnbd: purchase rate and dropout parameters, with ``alpha`` per ``time_unit``.
        gamma_gamma: spend per purchase parameters.
        n_members: members to draw.
        horizon_days: days from ``start`` to the end of the log (the last day is
            ``start + horizon_days - 1``).
        rng: the random generator (the only source of randomness).
        start: first day of the log.
        acquisition_days: first purchases fall uniformly in the first ``acquisition_days``
            days (default: half the horizon), so members are observed for different ``T``.
        time_unit: unit of ``alpha``: ``day`` or ``week``.

    Returns:
        Columns ``transaction_id``, ``member_id``, ``date`` (``datetime64``), ``amount``,
        one row per purchase, sorted by member and date. Purchase times are continuous; the
        date is the day the purchase falls in, so two purchases on one day can occur (they
        are one occasion for calibration).
    """
    if n_members <= 0 or horizon_days <= 0:
        raise ValueError(f"n_members(={n_members}) and horizon_days(={horizon_days}) must be > 0")
    scale = 1.0 if time_unit == "day" else 7.0
    window = horizon_days // 2 if acquisition_days is None else acquisition_days
    window = int(min(max(window, 1), horizon_days))
    first_day = rng.integers(0, window, size=n_members)
    # Rates per day; numpy's gamma takes a scale (1 / rate).
    rates = rng.gamma(bgnbd.r, 1.0 / bgnbd.alpha, size=n_members) / scale
    dropout = rng.beta(bgnbd.a, bgnbd.b, size=n_members)
    nu = rng.gamma(gamma_gamma.q, 1.0 / gamma_gamma.gamma, size=n_members)

    members, days = [], []
    for i in range(n_members):
        start_time = float(first_day[i])
        times = [start_time]
        now = start_time
        while True:
            now += rng.exponential(1.0 / rates[i]) if rates[i] > 0 else np.inf
            if now >= horizon_days:
                break
            times.append(now)
            if rng.random() < dropout[i]:
                break
        members.append(np.full(len(times), i))
        # The first purchase opens the day; later purchases fall at continuous times.
        days.append(np.floor(times).astype(np.int64))
    member_index = np.concatenate(members)
    day_index = np.concatenate(days)
    amounts = rng.gamma(gamma_gamma.p, 1.0 / nu[member_index])
    width = len(str(n_members))
    frame = pd.DataFrame(
        {
            "member_id": [f"M{i + 1:0{width}d}" for i in member_index],
            "date": pd.Timestamp(start) + pd.to_timedelta(day_index, unit="D"),
            "amount": np.round(amounts, 2),
        }
    )
    frame.insert(0, "transaction_id", [f"T{k + 1:08d}" for k in range(len(frame))])
    return frame
