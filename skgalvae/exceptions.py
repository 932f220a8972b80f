"""Warnings and errors specific to skgalvae."""

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning

__all__ = [
    "InconsistentVersionWarning",
    "NonFiniteFilledWarning",
    "OutputLockedError",
    "StudyInputError",
    "UnreadableRowsWarning",
]


class InconsistentVersionWarning(_SklearnVersionWarning):
    """An estimator is unpickled by a skgalvae version other than its writer's.

    A subclass of scikit-learn's warning of the same name, so filters for that
    one catch this one too.

    Parameters
    ----------
    estimator_name : str
        Estimator class name.
    current_version : str
        skgalvae version doing the loading.
    original_version : str
        skgalvae version that wrote the pickle.
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current_version,
            original_sklearn_version=original_version,
        )

    def __str__(self):
        return (
            f"Trying to unpickle {self.estimator_name} written by skgalvae "
            f"{self.original_sklearn_version} with skgalvae "
            f"{self.current_sklearn_version}. The stored weights load, but the "
            f"model code may differ: check transforms against the originals, or "
            f"refit with this version."
        )


class NonFiniteFilledWarning(UserWarning):
    """NaN pixels were replaced by a fill value, as ``nan_policy`` asked.

    The message names the file and the number of pixels filled. Turn it into
    an error with ``warnings.simplefilter("error", NonFiniteFilledWarning)``.
    """


class UnreadableRowsWarning(UserWarning):
    """Some rows of a survey could not be read, so they have no latents.

    :func:`~skgalvae.survey.encode_survey` keeps such rows in its output with
    NaN latents and the reason in their ``error`` column, and lists them by
    id in the returned summary's ``failures``; this warning says how many.
    """


class OutputLockedError(RuntimeError):
    """Another run is writing the same output.

    :func:`~skgalvae.survey.encode_survey` holds an exclusive lock on its
    output (``<output>.lock``) while it writes; a second writer fails at once
    with this error, which names the holder (process, host and start time).
    """


class StudyInputError(ValueError):
    """The study's input data cannot be used; the message says which and why.

    Raised by :func:`~skgalvae.study.run_study` (and ``skgalvae study``, which
    prints the message and exits with status 2) before any training: a path
    that holds no cutouts, a catalogue without the votes the study needs, more
    galaxies asked for than the data holds.
    """
