import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from simulations.calibration import fit_bgnbd, summarize_transactions
from simulations.calibration.pareto_nbd import (
    _log_likelihood,
    fit_pareto_nbd,
    pareto_nbd_probability_alive,
)

TRUE = {"r": 0.75, "alpha": 22.0, "s": 0.6, "beta": 250.0}


def _lambda_moment(r, alpha, x, u):
    # E[lambda^x exp(-lambda u)] for lambda ~ Gamma(r, alpha)
    return np.exp(
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        - (r + x) * np.log(alpha + u)
    )


def _likelihood_by_lifetime(r, alpha, s, beta, x, t_x, T):
    """Alive at T, or died at tau in (t_x, T): one integral over the death time."""
    alive = _lambda_moment(r, alpha, x, T) * (beta / (beta + T)) ** s
    dead = integrate.quad(
        lambda tau: _lambda_moment(r, alpha, x, tau) * s * beta**s / (beta + tau) ** (s + 1),
        t_x,
        T,
        epsabs=0,
        epsrel=1e-11,
    )[0]
    return alive + dead


@pytest.mark.parametrize(
    ("r", "alpha", "s", "beta"), [(0.8, 20.0, 0.6, 300.0), (0.8, 300.0, 0.6, 20.0)]
)
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 100.0), (2, 40.0, 150.0), (7, 300.0, 700.0)])
def test_likelihood_matches_integration_over_the_lifetime(r, alpha, s, beta, x, t_x, T):
    closed = np.exp(
        _log_likelihood(r, alpha, s, beta, np.array([x]), np.array([t_x]), np.array([T]))
    )[0]
    assert closed == pytest.approx(_likelihood_by_lifetime(r, alpha, s, beta, x, t_x, T), rel=1e-8)


def simulate_pareto_nbd(n, horizon, rng):
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    mu = rng.gamma(TRUE["s"], 1 / TRUE["beta"], n)
    first = rng.integers(0, horizon // 2, n)
    death = first + rng.exponential(1 / mu)
    members, days = [], []
    for i in range(n):
        end = min(death[i], horizon)
        t = float(first[i])
        while t < end:
            members.append(i)
            days.append(int(t))
            t += rng.exponential(1 / lam[i])
    return pd.DataFrame(
        {
            "member_id": [f"M{i}" for i in members],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
            "amount": 10.0,
        }
    )


@pytest.fixture(scope="module")
def pareto_summary():
    return summarize_transactions(simulate_pareto_nbd(3000, 730, np.random.default_rng(1)))


# SEs at 3,000 members: r 3.5%, alpha 4%, s 13%, beta 20%; tolerances about 3 SEs, alpha
# allowing for same-day merging as in BG/NBD.
RTOL = {"r": 0.12, "alpha": 0.15, "s": 0.40, "beta": 0.60}


def test_parameter_recovery_and_model_comparison(pareto_summary):
    fit = fit_pareto_nbd(pareto_summary)
    for name, rtol in RTOL.items():
        assert fit.params[name] == pytest.approx(TRUE[name], rel=rtol), name
    assert fit.convergence["converged"]
    # On data from Pareto/NBD, Pareto/NBD fits better than BG/NBD (same number of parameters).
    assert fit.loglike > fit_bgnbd(pareto_summary).loglike


def test_probability_alive_behaves():
    silence = pareto_nbd_probability_alive(TRUE, 0, 0.0, np.array([10.0, 100.0, 400.0]))
    assert np.all(np.diff(silence) < 0)  # unlike BG/NBD, one-time buyers can drop out
    recent = pareto_nbd_probability_alive(TRUE, 3, np.array([50.0, 150.0, 199.0]), 200.0)
    assert np.all(np.diff(recent) > 0)
    assert np.all((recent > 0) & (recent <= 1))
