"""The model card saved beside a shared model (Hugging Face layout)."""

from __future__ import annotations

import platform

import numpy as np

from .. import _version


def _versions():
    import sklearn
    import torch

    return {
        "skgalvae": _version.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _training_summary(vae, preprocessing, training_data):
    """Rows of the model card's training section."""
    first = vae if preprocessing is None else preprocessing[0]
    unit = getattr(first, "input_unit_", None)
    after = "" if preprocessing is None else " (after the preprocessing steps)"
    rows = {
        "Training data": training_data or "not described by the saver",
        "Estimator": type(vae).__name__,
        "n_latent": vae.n_latent_,
        "Input": (
            f"images {' x '.join(map(str, vae.sample_shape_))} (bands, h, w)"
            if len(vae.sample_shape_) == 3
            else f"{vae.sample_shape_[0]} features"
        ),
        f"Input values{after}": (
            "uint8 (scaled by 1/255)"
            if vae.input_is_uint8_
            else f"{vae.input_range_[0]:.4g} to {vae.input_range_[1]:.4g}"
        ),
        "Input unit": "none (plain numbers)" if unit is None else str(unit),
        "Network": f"{vae.architecture_}, hidden_dims {tuple(vae.hidden_dims_)}",
        "Likelihood": vae.likelihood_,
    }
    history = vae.history_
    if len(history):
        last = history[-1]
        rows["Epochs trained"] = last.get("epoch", len(history))
        for key in ("train_loss", "valid_loss", "train_ssim", "valid_ssim"):
            if key in last and last[key] is not None:
                rows[f"Last epoch {key}"] = f"{float(last[key]):.4g}"
    if hasattr(vae, "n_active_latents_"):
        rows["Active latents"] = vae.n_active_latents_
    return rows


def model_card(estimator, config) -> str:
    """Return the Markdown model card for a saved model."""
    from ..utils._steps import split_vae

    preprocessing, vae = split_vae(estimator)
    lines = [
        "---",
        "library_name: skgalvae",
        "tags:",
        "- astronomy",
        "- galaxies",
        "- variational-autoencoder",
        "- scikit-learn",
        "---",
        "",
        f"# {type(vae).__name__} (skgalvae)",
        "",
        "A fitted model saved with `skgalvae.save_pretrained`: weights in "
        "`model.safetensors`, settings in `config.json`. Loading it runs no "
        "stored code:",
        "",
        "```python",
        "from skgalvae import load_pretrained",
        "",
        'model = load_pretrained("path/to/this/directory")',
        "latents = model.transform(images)",
        "```",
        "",
        "## Steps",
        "",
    ]
    lines += [f"- `{entry['name']}`: `{entry['class']}`" for entry in config["steps"]]
    if hasattr(vae, "sample_shape_") and hasattr(vae, "history_"):
        lines += ["", "## Training", "", "| | |", "|---|---|"]
        lines += [
            f"| {k} | {v} |"
            for k, v in _training_summary(
                vae, preprocessing, config.get("training_data")
            ).items()
        ]
    reset = [
        r for entry in config["steps"] for r in entry.get("params_reset_to_default", [])
    ]
    if reset:
        lines += ["", "Saved as their defaults (objects with no JSON form): "]
        lines += [f"- `{r}`" for r in reset]
    lines += ["", "## Versions", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in _versions().items()]
    lines += [
        "",
        "## Intended use and limits",
        "",
        "Latent features of galaxy images like the training data (same bands, "
        "size, survey and preprocessing). Images from another survey or with "
        "another scaling give latents that do not mean the same; check the "
        "input values against the table above.",
        "",
    ]
    return "\n".join(lines)
