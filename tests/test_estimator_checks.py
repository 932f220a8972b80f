"""scikit-learn's own estimator checks on the VAE estimators (dense, small)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgalvae import DomainAdaptedVAETransformer, VAETransformer

SMALL = dict(n_latent=2, hidden_dims=(8,), max_epochs=2, batch_size=16, random_state=0)

# Each entry: check name -> why VAETransformer fails it on purpose.
EXPECTED_FAILED_CHECKS = {
    # Object arrays are rejected by design: pixels must be numeric.
    "check_dtype_object": "object arrays are rejected on purpose",
}

# scikit-learn's checks call ``fit(X, y)`` alone. DomainAdaptedVAETransformer
# needs target-survey data (``sample_domain`` or ``X_target``) and says so;
# these checks fail on that error only (input validation of X comes first, so
# the checks of bad X pass). _WithOwnTarget below runs all of them again with
# a target.
NEEDS_TARGET = "fit needs target data (sample_domain or X_target); checks pass none"
DA_EXPECTED_FAILED_CHECKS = {
    **EXPECTED_FAILED_CHECKS,
    **{
        check: NEEDS_TARGET
        for check in [
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_estimators_dtypes",
            "check_estimators_fit_returns_self",
            "check_estimators_nan_inf",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_pipeline_consistency",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
            "check_transformer_data_not_an_array",
            "check_transformer_general",
            "check_transformer_preserve_dtypes",
        ]
    },
}


class _WithOwnTarget(DomainAdaptedVAETransformer):
    """Adapts ``X`` to itself when no target is given: the checks' fit(X, y)."""

    def fit(self, X, y=None, *, sample_domain=None, X_target=None):
        if sample_domain is None and X_target is None:
            X_target = X
        return super().fit(X, y, sample_domain=sample_domain, X_target=X_target)


# Encoding runs in batches of batch_size rows; a permutation changes which rows
# share a batch, so float32 matrix products round differently (by ~3e-8 here,
# measured; one batch gives identical rows), against the check's rtol of 1e-7.
# Whether an estimator trips on it depends on its fitted weights.
BATCH_ROUNDING = {
    "check_methods_sample_order_invariance": "float32 rounding differs by batch"
}


def _expected_failures(estimator):
    if type(estimator) is DomainAdaptedVAETransformer:
        return DA_EXPECTED_FAILED_CHECKS
    return {**EXPECTED_FAILED_CHECKS, **BATCH_ROUNDING}


@parametrize_with_checks(
    [
        VAETransformer(**SMALL),
        DomainAdaptedVAETransformer(**SMALL),
        _WithOwnTarget(**SMALL),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
