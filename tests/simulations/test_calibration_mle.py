"""The fitting base the three likelihood models share: one cascade, one set of checks."""

import numpy as np
import pytest

from simulations.calibration import ConvergenceError, summarize_transactions
from simulations.calibration.bgnbd import BGNBDLikelihood, fit_bgnbd
from simulations.calibration.gamma_gamma import GammaGammaLikelihood, fit_gamma_gamma
from simulations.calibration.mle import LogScaleLikelihood, MLEFit
from simulations.calibration.pareto_nbd import ParetoNBDLikelihood, fit_pareto_nbd

MODELS = [
    ("BG/NBD", BGNBDLikelihood, fit_bgnbd),
    ("Gamma-Gamma", GammaGammaLikelihood, fit_gamma_gamma),
    ("Pareto/NBD", ParetoNBDLikelihood, fit_pareto_nbd),
]


@pytest.fixture(scope="module")
def summary(bgnbd_log):
    return summarize_transactions(bgnbd_log.head(3000))


@pytest.mark.parametrize(("name", "likelihood", "fit"), MODELS, ids=[m[0] for m in MODELS])
def test_every_model_fits_through_the_base_and_reports_alike(summary, name, likelihood, fit):
    assert issubclass(likelihood, LogScaleLikelihood)
    result = fit(summary)
    assert isinstance(result, MLEFit)
    assert result.convergence["converged"]
    assert result.convergence["gradient_norm"] <= result.convergence["gradient_tol"]
    assert result.convergence["method"].startswith("bfgs")
    table = result.table()
    assert set(table["model"]) == {name}
    assert list(table["parameter"]) == list(likelihood.param_names)
    assert (table["ci_low"] < table["estimate"]).all()
    assert (table["estimate"] < table["ci_high"]).all()
    # Delta method on the log scale: se(theta) = theta * se(log theta).
    se_log = np.sqrt(np.diag(result.log_cov))
    assert table["std_err"].to_numpy() == pytest.approx(table["estimate"].to_numpy() * se_log)


@pytest.mark.parametrize(("name", "likelihood", "fit"), MODELS, ids=[m[0] for m in MODELS])
def test_a_fit_that_cannot_converge_raises_the_typed_error(
    summary, monkeypatch, name, likelihood, fit
):
    # A likelihood whose gradient never vanishes stands in for a fit that cannot converge;
    # the cascade falls back to Nelder-Mead and then gives up with the report.
    original = likelihood.score
    monkeypatch.setattr(likelihood, "score", lambda self, params: original(self, params) + 50.0)
    with pytest.raises(ConvergenceError, match="gradient norm") as info:
        fit(summary)
    assert info.value.model == name
    assert info.value.report["method"].endswith("+nm")
    assert info.value.report["optimizer_flags"].keys() == {"bfgs", "nm"}
