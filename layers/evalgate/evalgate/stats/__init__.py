"""Statistics for run aggregates, quality gates and drift checks.

Pure Python on the standard library only (``math``, ``random``): safe to import in any Lambda
without numpy/scipy and their cold-start cost. Every function is checked against scipy in
``tests/unit/stats``.

    from evalgate.stats import GateConfig, RunFigures, check_gate, wilson_interval
    result = check_gate(GateConfig(mode="significance", threshold=0.9),
                        RunFigures.from_aggregates(run.aggregates))
"""

from evalgate.stats.descriptive import (
    DEFAULT_QUANTILES,
    confidence_z,
    histogram_percentiles,
    mean_interval,
    mean_std,
    percentile_sorted,
    quantile_key,
    wilson_interval,
)
from evalgate.stats.drift import chi2_contingency, kolmogorov_sf, ks_2samp, psi
from evalgate.stats.gate import GateConfig, GateResult, RunFigures, check_gate
from evalgate.stats.inference import (
    BOOTSTRAP_MAX_RESAMPLE,
    binomial_test,
    bootstrap_mean_limit,
    fisher_exact,
    holm,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap_ci,
    paired_mean_ci,
    resample_indices,
    two_proportion_z,
)
from evalgate.stats.special import (
    betainc,
    chi2_sf,
    gammainc,
    gammaincc,
    normal_cdf,
    normal_ppf,
    normal_sf,
    t_cdf,
    t_ppf,
    t_sf,
)

__all__ = [
    "BOOTSTRAP_MAX_RESAMPLE",
    "DEFAULT_QUANTILES",
    "GateConfig",
    "GateResult",
    "RunFigures",
    "betainc",
    "binomial_test",
    "bootstrap_mean_limit",
    "check_gate",
    "chi2_contingency",
    "chi2_sf",
    "confidence_z",
    "fisher_exact",
    "gammainc",
    "gammaincc",
    "histogram_percentiles",
    "holm",
    "kolmogorov_sf",
    "ks_2samp",
    "mcnemar_exact",
    "mean_interval",
    "mean_std",
    "newcombe_paired_interval",
    "normal_cdf",
    "normal_ppf",
    "normal_sf",
    "paired_bootstrap_ci",
    "paired_mean_ci",
    "percentile_sorted",
    "psi",
    "quantile_key",
    "resample_indices",
    "t_cdf",
    "t_ppf",
    "t_sf",
    "two_proportion_z",
    "wilson_interval",
]
