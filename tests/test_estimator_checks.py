"""scikit-learn's own estimator checks on VAETransformer (dense VAE, small)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgalvae import VAETransformer

# Each entry: check name -> why VAETransformer fails it on purpose.
EXPECTED_FAILED_CHECKS = {
    # Object arrays are rejected by design: pixels must be numeric.
    "check_dtype_object": "object arrays are rejected on purpose",
}


def _small_vae():
    return VAETransformer(
        n_latent=2, hidden_dims=(8,), max_epochs=2, batch_size=16, random_state=0
    )


@parametrize_with_checks(
    [_small_vae()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
