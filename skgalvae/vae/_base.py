"""The base of every VAE estimator: its intake and its scikit-learn API.

Concrete estimators (:class:`~skgalvae.VAETransformer` and those built on it)
declare parameters and documentation. :class:`BaseVAE` checks what comes in
(parameters, data, scale) and answers scikit-learn's API; it inherits one
mixin per other job: building and training the net
(:class:`~skgalvae.vae._training.TrainingMixin`; one training loop, skorch's,
driven by :class:`~skgalvae.nn.VAENet`), inference
(:class:`~skgalvae.vae._inference.InferenceMixin`) and pickling
(:class:`~skgalvae.vae._persistence.PicklingMixin`).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_feature_names, check_is_fitted
from skorch.callbacks import Callback

from ..io._intake import check_samples
from ..nn import VAEModule
from ..utils._units import UnitAsText, strip_unit
from ._inference import InferenceMixin
from ._persistence import PicklingMixin
from ._scale import check_like_fit_scale, check_training_scale
from ._training import OPTIMIZERS, TrainingMixin

__all__ = ["OPTIMIZERS", "BaseVAE"]


class BaseVAE(
    UnitAsText,
    PicklingMixin,
    TrainingMixin,
    InferenceMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Base class of skgalvae's VAE estimators; not for direct use.

    Subclasses define ``__init__`` (storing their parameters) and
    ``_parameter_constraints``. The methods here and in the mixins read
    :class:`VAETransformer`'s parameters, which the subclasses share (the
    domain-adapted one leaves out the consistency term's): each has one
    default, one constraint and one docstring section in every subclass, as
    ``tests/test_vae.py`` checks.
    """

    #: Prefix of the output feature names: ``vae0, vae1, ...``.
    _feature_prefix = "vae"
    #: The torch module the net trains.
    _module_class = VAEModule

    # ------------------------------------------------------------------ intake
    def _check_hyperparameters(self):
        # scikit-learn's Interval(Integral) lets bools through (True == 1).
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name, None)
            integral = any(
                isinstance(c, Interval) and c.type is Integral for c in constraints
            )
            if integral and isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be an int; got {value!r} (a bool).")
        for i, callback in enumerate(self.callbacks or []):
            named = isinstance(callback, tuple) and len(callback) == 2
            name, item = callback if named else ("name", callback)
            if not isinstance(name, str) or not (
                isinstance(item, Callback)
                or (isinstance(item, type) and issubclass(item, Callback))
            ):
                raise TypeError(
                    f"callbacks[{i}] must be a skorch Callback or a (name, Callback) "
                    f"pair; got {callback!r}."
                )
        dims = self.hidden_dims
        if not isinstance(dims, str) and (
            not tuple(dims)
            or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                for d in dims
            )
        ):
            raise ValueError(
                f"hidden_dims must be 'auto' or a non-empty sequence of positive "
                f"ints; got {self.hidden_dims!r}."
            )
        if self.image_shape is not None and (
            len(self.image_shape) != 3
            or not all(
                isinstance(s, (int, np.integer)) and s > 0 for s in self.image_shape
            )
        ):
            raise ValueError(
                f"image_shape must be (bands, height, width) with positive ints; got "
                f"{self.image_shape!r}."
            )

    def _read_samples(self, X, *, reset, input_name="X", reference=None):
        """Validate ``X`` against the parameters (and the fit, unless ``reset``).

        Returns the :class:`~skgalvae.io._intake.Samples`, with the range of
        every value when ``reset`` (at fit) or when ``reference`` names the fit
        data ``X`` is checked against (more data of the same fit, see
        :meth:`_check_like_fit`); at transform a lazy collection is not read
        whole here, only a sample of its images for their scale.
        """
        name = type(self).__name__
        X = strip_unit(self, X, reset=reset, input_name=input_name)
        _check_feature_names(self, X, reset=reset)
        samples = check_samples(
            X,
            image_shape=self.image_shape if reset else self.image_shape_,
            values="range" if reset or reference else "sampled",
            input_name=input_name,
            estimator_name=name,
        )
        if reset:
            if samples.is_image:
                self._check_image_shape_param(samples, input_name)
            return samples
        self._check_like_fit(samples, input_name, reference)
        if hasattr(self, "input_range_") and samples.value_range is not None:
            fit = (*self.input_range_, self.input_is_uint8_)
            check_like_fit_scale(
                samples.value_range, samples.is_uint8, fit, input_name, name
            )
        return samples

    def _check_scale(self, value_range, input_name):
        """Refuse training data far from the scale the network learns at."""
        check_training_scale(
            value_range,
            self.pixel_scale_,
            self.output_activation_,
            input_name,
            type(self).__name__,
            "images" if self._is_image else "features",
        )

    def _check_image_shape_param(self, samples, input_name):
        """At fit, image input must agree with an explicit ``image_shape``."""
        if self.image_shape is not None and samples.sample_shape != tuple(
            self.image_shape
        ):
            raise ValueError(
                f"{input_name} holds images of shape {samples.sample_shape} (bands, "
                f"h, w), but image_shape={tuple(self.image_shape)}."
            )

    def _check_like_fit(self, samples, input_name, reference=None):
        """Raise if ``samples`` differ in kind, bands or size from the fit data.

        ``reference`` words what they are compared with, for errors raised
        during fit (e.g. ``"X holds"``); by default, the fitted estimator.
        """
        name = type(self).__name__
        fitted = self.sample_shape_
        got = samples.sample_shape
        if got == fitted:
            return
        reference = reference or f"{name} was fitted on"
        if len(fitted) == 3 and len(got) == 3:
            if got[0] != fitted[0]:
                raise ValueError(
                    f"{input_name} has {got[0]} band(s), but {reference} "
                    f"{fitted[0]} band(s)."
                )
            raise ValueError(
                f"{input_name} holds {got[1]}x{got[2]} images, but {reference} "
                f"{fitted[1]}x{fitted[2]} images."
            )
        if reference.endswith("was fitted on"):  # scikit-learn's own wording
            reference = f"{name} is expecting"
        raise ValueError(
            f"{input_name} has {int(np.prod(got))} features, but {reference} "
            f"{self.n_features_in_} features as input (samples of shape {fitted}; "
            f"got {got})."
        )

    def _initial_vae(self):
        """Return the fitted VAE of ``init`` (unwrapped), checked, or None.

        For estimators with an ``init`` parameter: a fitted VAE to start from.
        """
        init = getattr(self, "init", None)  # only some estimators have one
        if init is None:
            return None
        base = init.estimator if isinstance(init, FrozenEstimator) else init
        name = type(self).__name__
        if not isinstance(base, BaseVAE):
            raise TypeError(
                f"init must be a fitted VAETransformer (or a FrozenEstimator "
                f"wrapping one); got {type(base).__name__}."
            )
        try:
            check_is_fitted(base, "net_")
        except NotFittedError:
            raise NotFittedError(
                f"init {type(base).__name__} is not fitted. If this {name} is a "
                f"clone (GridSearchCV, cross_validate and clone copy parameters "
                f"unfitted), pass init=sklearn.frozen.FrozenEstimator(vae) so "
                f"that clones keep it fitted."
            ) from None
        mismatches = [
            ("n_latent", self.n_latent, base.n_latent),
            ("architecture", self.architecture, base.architecture_),
            # A pose-free decoder draws in its own pose: fine-tuning it with
            # another likelihood would have to relearn that.
            ("invariance", self.invariance, base.invariance),
        ]
        if not isinstance(self.hidden_dims, str):  # "auto" takes init's
            mismatches.append(
                ("hidden_dims", tuple(self.hidden_dims), tuple(base.hidden_dims_))
            )
        for param, mine, theirs in mismatches:
            if mine != theirs:
                raise ValueError(
                    f"{param}={mine!r}, but init was fitted with {param}={theirs!r}; "
                    f"fine-tuning keeps the architecture, so set {param}={theirs!r}."
                )
        return base

    def _inherit_from(self, base, samples):
        """Take ``init``'s data conventions, refusing explicit disagreements."""
        if samples.sample_shape != base.sample_shape_:
            raise ValueError(
                f"X holds samples of shape {samples.sample_shape}, but init was "
                f"fitted on samples of shape {base.sample_shape_}."
            )
        for param in ("pixel_scale", "output_activation"):
            mine, theirs = getattr(self, param), getattr(base, param + "_")
            if mine != "auto" and mine != theirs:
                raise ValueError(
                    f"{param}={mine!r}, but init was fitted with {param}_="
                    f"{theirs!r}; leave it 'auto' to keep init's."
                )
            setattr(self, param + "_", theirs)
        self.hidden_dims_ = tuple(base.hidden_dims_)

    # --------------------------------------------------------------- sklearn API
    @property
    def _n_features_out(self):
        return self.n_latent_

    def save_pretrained(
        self, directory, *, training_data: str | None = None, overwrite: bool = False
    ):
        """Save the fitted model as safetensors weights, JSON and a model card.

        Unlike a pickle, the directory holds no code, so it is safe to share;
        see :func:`skgalvae.save_pretrained` (which also saves a Pipeline of
        skgalvae steps).

        Parameters
        ----------
        directory : str or path-like
            Created if needed.
        training_data : str or None, default=None
            What the model was trained on, for the model card.
        overwrite : bool, default=False
            Replace an earlier save in ``directory``.

        Returns
        -------
        pathlib.Path
            The directory.
        """
        from ..sharing import save_pretrained

        return save_pretrained(
            self, directory, training_data=training_data, overwrite=overwrite
        )

    @classmethod
    def load_pretrained(cls, directory):
        """Load a model saved by :meth:`save_pretrained`; no stored code runs.

        Parameters
        ----------
        directory : str or path-like
            The saved directory.

        Returns
        -------
        estimator
            An instance of this class, fitted, on this machine's device.

        Raises
        ------
        TypeError
            If the directory holds another kind of model.
        """
        from ..sharing import load_pretrained

        model = load_pretrained(directory)
        if type(model) is not cls:
            raise TypeError(
                f"{directory} holds a {type(model).__name__}, not a {cls.__name__}; "
                f"load it with skgalvae.load_pretrained."
            )
        return model

    def get_feature_names_out(self, input_features=None):
        """Return the output feature names, ``vae0`` to ``vae{n_latent-1}``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored apart from a length check against ``n_features_in_``.

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        if input_features is not None and len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features has {len(input_features)} names, but "
                f"{type(self).__name__} was fitted on {self.n_features_in_} features."
            )
        return np.asarray(
            [f"{self._feature_prefix}{i}" for i in range(self.n_latent_)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        uses_cuda = self.device != "cpu" and torch.cuda.is_available()
        tags.non_deterministic = uses_cuda
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.three_d_array = True
        return tags
