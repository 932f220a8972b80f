"""Stage 5, pictures: reconstructions, latent traversals, a t-SNE map, samples."""

from __future__ import annotations

import numpy as np

from ..inspection import latent_traversals
from ..plotting import embed_latents
from ..preprocessing import Resize
from ._stage import Stage, save_figure

__all__ = ["STAGE", "pictures"]


#: Side of the thumbnails kept for the latent map, in pixels.
THUMBNAIL_SIDE = 32


def _thumbnails(preprocessing, X, chunk=256):
    """Return the images as the model sees them, at most 32 pixels a side."""
    side = X.shape[-1]
    shrink = Resize(THUMBNAIL_SIDE) if side > THUMBNAIL_SIDE else None
    out = []
    for start in range(0, len(X), chunk):
        images = preprocessing.transform(X[start : start + chunk])
        out.append(shrink.fit_transform(images) if shrink else images)
    return np.concatenate(out)


def pictures(model, X_test, Z_test, classes_test, config):
    """Reconstructions, latent traversals, a t-SNE map and prior samples.

    ``Z_test`` is ``model.transform(X_test)``, already computed by the
    classification stage.

    Returns
    -------
    dict
        Arrays for the figures: ``originals``/``reconstructions`` (a few per
        class), ``traversals`` (from :func:`latent_traversals`), ``tsne`` coordinates
        with their ``tsne_classes`` and ``tsne_images`` (thumbnails), and
        ``samples`` from the prior.
    """
    vae = model[-1]
    rng = np.random.default_rng(config.seed)
    classes_test = np.asarray(classes_test)
    shown = np.concatenate(
        [
            rng.permutation(np.flatnonzero(classes_test == c))[:2]
            for c in sorted(set(classes_test))
        ]
    )[:12]
    originals = model[:-1].transform(X_test[shown])

    # Traversals through the most-used latents, from the median galaxy.
    traversals = latent_traversals(vae, Z_test, n_dims=5, n_steps=7, span=3.0)

    subset = rng.permutation(len(Z_test))[: config.tsne_max]
    tsne = embed_latents(Z_test[subset], "tsne", random_state=config.seed)
    return {
        "originals": originals,
        "reconstructions": vae.reconstruct(originals),
        "shown_classes": classes_test[shown],
        "traversals": traversals,
        "tsne": tsne,
        "tsne_classes": classes_test[subset],
        "tsne_images": _thumbnails(model[:-1], X_test[subset]),
        "samples": vae.sample(16, random_state=config.seed),
    }


def _pictures(key, model, X_test, Z_test, classes_test, config):
    """Arrays of the figures; the t-SNE map's thumbnails among them."""
    return pictures(model, X_test, Z_test, classes_test, config)


_pictures.reads = ("seed", "tsne_max")


def _compute(run):
    return run.cached(
        _pictures,
        run.model,
        run.X_test,
        run.encoded["vae"][1],
        run.data.classes.iloc[run.test].to_numpy(),
    )


def _report(run, arrays):
    _report_pictures(run.report, arrays, run.out, run.display)


#: Below this fraction of the originals' variation across galaxies, the
#: reconstructions (or a traversal's steps) are said to carry no structure.
FLAT_RECONSTRUCTIONS = 0.2


FLAT_TRAVERSALS = 0.05


def _variation(images, axis=0):
    """Mean over pixels of the standard deviation along ``axis``."""
    return float(np.asarray(images, dtype=float).std(axis=axis).mean())


def _structure_warnings(arrays) -> list[str]:
    """Sentences for pictures that show a model which learned little.

    Reconstructions that barely differ from one galaxy to the next (the mean
    galaxy drawn for all), and traversals whose steps barely change the image,
    are measured against how much the shown originals differ.
    """
    spread = _variation(arrays["originals"])
    if spread == 0:
        return []
    warnings = []
    recon = _variation(arrays["reconstructions"]) / spread
    if recon < FLAT_RECONSTRUCTIONS:
        warnings.append(
            f"**The reconstructions carry almost no structure**: they differ "
            f"from one galaxy to the next {recon:.0%} as much as the originals "
            "do, i.e. the model draws much the same galaxy for all. Train "
            "longer or on more galaxies before reading anything into them."
        )
    walk = _variation(arrays["traversals"].images, axis=1) / spread
    if walk < FLAT_TRAVERSALS:
        warnings.append(
            f"**The traversals barely change the image** (their steps differ "
            f"{walk:.0%} as much as the galaxies do): the traversed latents "
            "carry little the decoder uses."
        )
    return warnings


def _report_pictures(report, arrays, out, display):
    from ._figures import image_grid, plot_tsne

    report.heading("5. Reconstructions, traversals, t-SNE and generation")
    for warning in _structure_warnings(arrays):
        report.text(warning)
    report.figure(
        save_figure(
            image_grid(
                [arrays["originals"], arrays["reconstructions"]],
                ["original", "reconstruction"],
                list(arrays["shown_classes"]),
                display,
            ),
            out,
            "reconstructions.png",
        ),
        "Test galaxies and their reconstructions.",
    )
    walk = arrays["traversals"]
    report.figure(
        save_figure(
            image_grid(
                list(walk.images),
                [f"z{d}" for d in walk.dims],
                [f"{s:+.0f}σ" for s in walk.steps],
                display,
            ),
            out,
            "traversals.png",
        ),
        "Latent traversals: the most-used latents varied from -3 to +3 standard "
        "deviations around the median galaxy, the others held.",
    )
    tsne = plot_tsne(
        arrays["tsne"], arrays["tsne_classes"], arrays["tsne_images"], display
    )
    report.figure(
        save_figure(tsne, out, "tsne.png"),
        "t-SNE of the test galaxies' latents: every galaxy a point coloured by its "
        "first-level class, and one galaxy drawn per cell of a grid over the map, "
        "framed in its class's colour.",
    )
    samples = arrays["samples"]
    report.figure(
        save_figure(
            image_grid(
                [samples[:8], samples[8:16]], ["N(0, I)", "N(0, I)"], None, display
            ),
            out,
            "prior_samples.png",
        ),
        "Galaxies decoded from latents drawn from the prior N(0, I). Blotches "
        "(dark holes, strong colours) are latents the training never reached: "
        "the fewer galaxies and epochs, the more of them.",
    )


STAGE = Stage("pictures", _compute, _report)
