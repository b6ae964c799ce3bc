import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from true_parameters import TRUE_GAMMA_GAMMA

from simulations.calibration import (
    CalibrationDataError,
    conditional_expected_spend,
    fit_gamma_gamma,
    summarize_transactions,
)
from simulations.calibration.gamma_gamma import GammaGammaLikelihood

TRUE = TRUE_GAMMA_GAMMA.model_dump()


def test_density_of_mean_spend_matches_numerical_integration():
    # The mean of x Gamma(p, nu) draws is Gamma(p x, nu x); integrate over nu ~ Gamma(q, gamma).
    p, q, gamma, x, m = 2.5, 3.0, 40.0, 3, 55.0

    def integrand(nu):
        return stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(
            nu, q, scale=1 / gamma
        )

    numeric = integrate.quad(integrand, 0, np.inf, epsabs=1e-14, limit=200)[0]
    model = GammaGammaLikelihood(np.array([m]), np.array([x]))
    closed = np.exp(model.loglikeobs(np.log([p, q, gamma])))[0]
    assert closed == pytest.approx(numeric, rel=1e-6)


# SEs at this size (about 3,600 repeat buyers): p 11-14%, q 3%, gamma 13-16%; p and gamma
# are strongly correlated. Tolerances are about 3 standard errors.
FAST_RTOL = {"p": 0.35, "q": 0.10, "gamma": 0.40}


def test_parameter_recovery(bgnbd_log):
    fit = fit_gamma_gamma(summarize_transactions(bgnbd_log))
    for name, rtol in FAST_RTOL.items():
        assert fit.params[name] == pytest.approx(TRUE[name], rel=rtol), name
        assert abs(fit.params[name] - TRUE[name]) < 3.5 * fit.std_errors[name], name
    # The mean spend per purchase is much better determined than p and gamma separately.
    true_mean = TRUE["p"] * TRUE["gamma"] / (TRUE["q"] - 1)
    assert fit.mean_spend == pytest.approx(true_mean, rel=0.05)
    assert fit.convergence["converged"]


def test_conditional_spend_shrinks_towards_the_population_mean():
    population = TRUE["p"] * TRUE["gamma"] / (TRUE["q"] - 1)
    assert conditional_expected_spend(TRUE, 0, 0.0) == pytest.approx(population)
    # A big spender's expectation lies between the population mean and the own mean, and
    # moves towards the own mean with more purchases.
    own = 1000.0
    few, many = conditional_expected_spend(TRUE, np.array([1, 20]), own)
    assert population < few < many < own


def test_too_few_repeat_buyers():
    summary = summarize_transactions(
        pd.DataFrame(
            {
                "member_id": ["a", "a", "b"],
                "date": ["2024-01-01", "2024-02-01", "2024-01-01"],
                "amount": [10, 20, 30],
            }
        )
    )
    with pytest.raises(CalibrationDataError, match="at least 10 repeat buyers"):
        fit_gamma_gamma(summary)


@pytest.mark.slow
def test_parameter_recovery_large():
    from true_parameters import LONG_LOG_START, TRUE_BGNBD

    from simulations.calibration import simulate_bgnbd_transactions

    log = simulate_bgnbd_transactions(
        TRUE_BGNBD,
        TRUE_GAMMA_GAMMA,
        40000,
        1095,
        np.random.default_rng(11),
        start=LONG_LOG_START,
    )
    fit = fit_gamma_gamma(summarize_transactions(log))
    for name, rtol in {"p": 0.12, "q": 0.04, "gamma": 0.12}.items():
        assert fit.params[name] == pytest.approx(TRUE[name], rel=rtol), name
