import copy
import inspect
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from skgalvae import (
    DomainAdaptedVAETransformer,
    GMMVAETransformer,
    VAETransformer,
)


def test_transform_shapes_and_dtypes(fitted_vae, images):
    z = fitted_vae.transform(images)
    sigma = fitted_vae.transform_std(images)
    assert z.shape == sigma.shape == (len(images), 4)
    assert z.dtype == sigma.dtype == np.float32
    assert (sigma > 0).all()
    assert fitted_vae.n_features_in_ == 3 * 64 * 64
    assert fitted_vae.image_shape_ == (3, 64, 64)
    np.testing.assert_array_equal(
        fitted_vae.get_feature_names_out(), ["vae0", "vae1", "vae2", "vae3"]
    )


def test_decoding_methods_return_input_layout(fitted_vae, images):
    z = fitted_vae.transform(images[:5])
    assert fitted_vae.inverse_transform(z).shape == (5, 3, 64, 64)
    recon = fitted_vae.reconstruct(images[:5])
    assert recon.shape == (5, 3, 64, 64) and recon.dtype == np.float32
    # reconstruct is decode(encode(x)) through the mean.
    np.testing.assert_allclose(recon, fitted_vae.inverse_transform(z), atol=1e-5)
    a = fitted_vae.sample(3, random_state=1)
    b = fitted_vae.sample(3, random_state=1)
    assert a.shape == (3, 3, 64, 64)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fitted_vae.sample(3, random_state=2))


@pytest.mark.slow
def test_training_improves_ssim_and_history_records_terms(images, small_vae):
    vae = small_vae(n_latent=8, max_epochs=12, batch_size=16).fit(images)
    ssims = vae.history_[:, "train_ssim"]
    losses = vae.history_[:, "train_loss"]
    assert len(ssims) == 12
    assert ssims[-1] > ssims[0] + 0.1
    assert losses[-1] < losses[0] - 0.25 * abs(losses[0])
    # A steady early descent.
    assert all(b < a for a, b in zip(losses[:4], losses[1:5], strict=True))
    # Reconstruction and KL are recorded separately and add up to the loss.
    rec = vae.history_[-1, "train_reconstruction"]
    kl = vae.history_[-1, "train_kl"]
    assert np.isfinite(rec) and kl > 0  # a calibrated NLL may be negative
    assert vae.history_[-1, "train_loss"] == pytest.approx(rec + kl, rel=1e-5)
    score = vae.score(images)
    assert ssims[-1] - 0.05 < score <= 1.0  # the monitor subset is representative
    per_image = vae.score_samples_ssim(images)
    assert per_image.shape == (len(images),)
    assert score == pytest.approx(per_image.mean(), rel=1e-6)


@pytest.mark.slow
def test_cpu_fits_are_bit_identical_and_seed_dependent(images, small_vae):
    z1 = small_vae(random_state=7).fit(images).transform(images)
    z2 = small_vae(random_state=7).fit(images).transform(images)
    z3 = small_vae(random_state=8).fit(images).transform(images)
    np.testing.assert_array_equal(z1, z2)
    assert not np.array_equal(z1, z3)


def test_fit_leaves_global_torch_rng_alone(images, small_vae):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small_vae(max_epochs=1).fit(images[:32])
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.slow
def test_single_band_and_flattened_layouts(images, small_vae):
    single = images[:, 0]  # (n, 64, 64)
    vae = small_vae(max_epochs=1).fit(single)
    assert vae.image_shape_ == (1, 64, 64)
    assert vae.transform(single).shape == (len(single), 4)
    assert vae.reconstruct(single).shape == single.shape
    assert vae.inverse_transform(vae.transform(single[:2])).shape == (2, 64, 64)

    flat = images.reshape(len(images), -1)
    vae_flat = small_vae(max_epochs=1, image_shape=(3, 64, 64)).fit(flat)
    vae_cube = small_vae(max_epochs=1).fit(images)
    assert vae_flat.image_shape_ == (3, 64, 64)
    assert vae_flat.reconstruct(flat).shape == flat.shape
    # Same data, same seed: flattened rows are the same images.
    np.testing.assert_array_equal(vae_flat.transform(flat), vae_cube.transform(images))


@pytest.mark.slow
def test_uint8_images_are_scaled_on_device(images, small_vae):
    as_uint8 = (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
    as_float = as_uint8.astype(np.float32) / 255
    vae8 = small_vae().fit(as_uint8)
    vaef = small_vae().fit(as_float)
    assert vae8.pixel_scale_ == 255.0 and vae8.data_range_ == 255.0
    np.testing.assert_allclose(
        vae8.transform(as_uint8), vaef.transform(as_float), atol=1e-5
    )
    recon = vae8.reconstruct(as_uint8)
    assert recon.dtype == np.float32
    np.testing.assert_allclose(
        recon, vaef.reconstruct(as_float) * 255, rtol=1e-4, atol=1e-3
    )


@pytest.mark.slow
def test_memmap_input_matches_in_memory(images, tmp_path, small_vae):
    path = tmp_path / "images.npy"
    np.save(path, images)
    memmap = np.load(path, mmap_mode="r")
    vae_mm = small_vae().fit(memmap)
    vae_mem = small_vae().fit(images)
    np.testing.assert_array_equal(vae_mm.transform(memmap), vae_mem.transform(images))


def test_dense_vae_on_feature_vectors(features, small_vae):
    vae = small_vae(
        n_latent=2, hidden_dims=(16, 16), max_epochs=60, lr_schedule="constant"
    ).fit(features)
    assert vae.image_shape_ is None and vae.sample_shape_ == (6,)
    assert vae.output_activation_ == "identity"  # data has negative values
    assert vae.transform(features).shape == (120, 2)
    assert vae.inverse_transform(vae.transform(features[:3])).shape == (3, 6)
    # The data is rank-2 plus noise, so a 2-d VAE explains much of it.
    assert vae.score(features) > 0.5
    with pytest.raises(ValueError, match="SSIM needs images"):
        vae.score_samples_ssim(features)


def test_set_output_pandas(fitted_vae, images):
    vae = clone(fitted_vae).set_output(transform="pandas").fit(images)
    frame = vae.transform(images)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["vae0", "vae1", "vae2", "vae3"]
    np.testing.assert_array_equal(frame.to_numpy(), fitted_vae.transform(images))
    assert list(vae.transform_std(images).columns) == list(frame.columns)


def test_clone_gives_unfitted_copy_with_equal_params(fitted_vae):
    cloned = clone(fitted_vae)
    assert cloned.get_params() == fitted_vae.get_params()
    assert not hasattr(cloned, "net_") and not hasattr(cloned, "history_")


@pytest.mark.slow
def test_verbose_zero_is_silent_and_verbose_shows_progress(
    images, capsys, small_vae, monkeypatch
):
    import logging

    # Nobody chose where skgalvae's messages go (Python use): tqdm's bars.
    monkeypatch.setattr(logging.getLogger("skgalvae"), "level", logging.NOTSET)
    small_vae(max_epochs=1).fit(images).transform(images)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    vae = small_vae(max_epochs=2, verbose=1).fit(images)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err and "ssim=" in err
    vae.transform(images)
    assert "encode" in capsys.readouterr().err


def test_verbose_progress_is_plain_lines_in_a_log(images, small_vae, caplog):
    """With skgalvae's logger set (a batch job's log), no bars, no carriage returns."""
    import logging

    logger = logging.getLogger("skgalvae")
    logger.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO, logger="skgalvae"):
            vae = small_vae(max_epochs=2, verbose=1).fit(images)
    finally:
        logger.setLevel(logging.NOTSET)
    lines = [r.getMessage() for r in caplog.records]
    assert "VAETransformer: done 2/2 epoch (loss=" in "\n".join(lines)
    assert not any("\r" in line for line in lines)
    assert not hasattr(dict(vae.net_.callbacks_)["progress"], "bar_")  # pickles


class _CountEpochs(Callback):
    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


@pytest.mark.slow
def test_user_callbacks_are_passed_through_and_receive_events(images, small_vae):
    callback = _CountEpochs()
    vae = small_vae(max_epochs=3, callbacks=[("count", callback)]).fit(images)
    assert dict(vae.net_.callbacks_)["count"] is callback
    assert callback.epochs_ == 3
    # A clone (GridSearchCV's) gets its own copy of the callback.
    cloned = clone(vae).fit(images)
    assert dict(cloned.net_.callbacks_)["count"] is not callback


def test_hidden_dims_and_params_are_not_mutated(images):
    dims = [8, 16, 16]
    vae = VAETransformer(n_latent=3, hidden_dims=dims, max_epochs=1, random_state=0)
    vae.fit(images).fit(images)
    assert dims == [8, 16, 16]
    assert vae.get_params()["hidden_dims"] is dims


def test_batch_size_may_change_after_fit(fitted_vae, images):
    vae = copy.deepcopy(fitted_vae)
    before = vae.transform(images)
    vae.set_params(batch_size=7)
    np.testing.assert_allclose(vae.transform(images), before, atol=1e-5)


def test_explicit_precision_and_channels_last_on_cpu(images, small_vae):
    vae = small_vae(precision="bfloat16", channels_last=True, max_epochs=1).fit(images)
    assert vae.net_.precision == "bfloat16" and vae.net_.channels_last
    z = vae.transform(images)
    assert z.dtype == np.float32 and np.isfinite(z).all()


def test_tags():
    tags = VAETransformer(device="cpu").__sklearn_tags__()
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert tags.non_deterministic is False
    assert tags.input_tags.three_d_array


def test_fitted_net_is_a_well_behaved_skorch_net(fitted_vae):
    from sklearn.base import clone as sk_clone

    params = fitted_vae.net_.get_params()
    assert params["precision"] == "float32"
    assert params["module__n_latent"] == 4
    assert sk_clone(fitted_vae.net_).precision == "float32"


def test_fitted_estimator_does_not_keep_the_training_array_alive(small_vae):
    import gc
    import weakref

    images = np.random.default_rng(0).random((40, 3, 64, 64), dtype=np.float32)
    ref = weakref.ref(images)
    vae = small_vae(max_epochs=1).fit(images)
    del images
    gc.collect()
    assert ref() is None
    assert vae.transform(np.zeros((2, 3, 64, 64), np.float32)).shape == (2, 4)


@pytest.mark.parametrize(
    "estimator, differs",
    [
        (GMMVAETransformer, set()),
        # MMD compares samples within a batch: at least two per survey.
        (DomainAdaptedVAETransformer, {"batch_size"}),
    ],
)
def test_shared_parameters_are_the_vae_transformers(estimator, differs):
    """Each shared parameter has one default and one constraint everywhere."""
    vae = inspect.signature(VAETransformer.__init__).parameters
    own = inspect.signature(estimator.__init__).parameters
    shared = [name for name in vae if name in own and name != "self"]
    assert len(shared) >= 34
    assert [n for n in shared if own[n].default != vae[n].default] == []
    constraints = VAETransformer._parameter_constraints
    mine = estimator._parameter_constraints
    assert {n for n in shared if repr(mine[n]) != repr(constraints[n])} == differs


@pytest.mark.parametrize(
    "estimator", [VAETransformer, GMMVAETransformer, DomainAdaptedVAETransformer]
)
def test_documented_defaults_are_the_signatures(estimator):
    """The shared parameter docs show each estimator's own defaults."""
    from skgalvae.vae._vae import _documented_default

    documented = dict(
        re.findall(r"^    (\w+) : .*default=(.+)$", estimator.__doc__, re.MULTILINE)
    )
    signature = inspect.signature(estimator.__init__).parameters
    for name, parameter in signature.items():
        if name == "self":
            continue
        assert name in documented, f"{estimator.__name__}: {name} undocumented"
        assert _documented_default(documented[name]) == parameter.default, name


@pytest.mark.parametrize("adapted", [False, True], ids=["vae", "domain-adapted"])
def test_fit_reads_each_input_through_the_intake_once(images, intake_calls, adapted):
    # Units, dtype, shape, scale and laziness are settled in one call per
    # input; training and diagnostics reuse what it returned.
    params = dict(n_latent=2, hidden_dims=(8,), max_epochs=1, random_state=0)
    if adapted:
        DomainAdaptedVAETransformer(**params).fit(images, X_target=images[::-1])
        assert intake_calls == ["X", "X_target"]
    else:
        VAETransformer(**params).fit(images)
        assert intake_calls == ["X"]
