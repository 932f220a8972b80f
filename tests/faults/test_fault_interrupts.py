"""Ctrl+C during training propagates: no cut-short model, no cached stage.

SIGINT is sent to real subprocesses, as a user's Ctrl+C would be.
"""

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from skorch.callbacks import Callback

from skgalvae import VAETransformer
from skgalvae.cli import main
from skgalvae.study import _stage_data, _stage_latents

# "training" is printed once the first epoch is done: a signal sent before
# then can land inside the imports torch makes when it builds the optimiser
# (torch._dynamo, seconds long on a loaded machine), which is not the
# moment under test.
FIT_SCRIPT = """
import sys
import numpy as np
from skorch.callbacks import Callback
from skgalvae import VAETransformer

class Started(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 1:
            print("training", flush=True)

X = np.random.default_rng(0).random((64, 1, 64, 64), dtype=np.float32)
checkpoint_dir = sys.argv[1] if len(sys.argv) > 1 else None
vae = VAETransformer(n_latent=4, max_epochs=10_000, batch_size=16,
                     checkpoint_dir=checkpoint_dir,
                     callbacks=[("started", Started())])
print("fitting", flush=True)
vae.fit(X)
print("fit returned", flush=True)
"""


def _interrupt(command, ready, wait_s, timeout=120):
    """Start ``command``, wait for ``ready(stdout)`` and ``wait_s`` more, SIGINT it.

    Output goes to files (a full pipe would stall the process); returns the
    exit code, stdout and stderr.
    """
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder, "out"), Path(folder, "err")
        with out.open("w") as stdout, err.open("w") as stderr:
            # As in a terminal: a suite started as a background job has
            # SIGINT ignored, and children would inherit that.
            process = subprocess.Popen(
                command,
                stdout=stdout,
                stderr=stderr,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        deadline = time.monotonic() + timeout
        while not ready(out.read_text()):
            assert process.poll() is None, "the process ended before getting ready"
            assert time.monotonic() < deadline, "the process never got ready"
            time.sleep(0.2)
        time.sleep(wait_s)
        assert process.poll() is None, "the process finished before the interrupt"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=timeout)
        return process.returncode, out.read_text(), err.read_text()


def _printed(word):
    return lambda stdout: word in stdout


@pytest.mark.slow  # a fit in a subprocess
def test_ctrl_c_during_fit_raises_instead_of_returning_a_model():
    code, out, err = _interrupt(
        [sys.executable, "-c", FIT_SCRIPT], _printed("training"), wait_s=1
    )
    assert code != 0
    assert "fit returned" not in out
    assert "KeyboardInterrupt: VAETransformer.fit was interrupted in epoch" in err
    assert "of 10000; it returns no model" in err


@pytest.mark.slow  # a fit in a subprocess
def test_ctrl_c_says_what_the_checkpoint_holds_and_the_fit_resumes(tmp_path):
    code, _, err = _interrupt(
        [sys.executable, "-c", FIT_SCRIPT, str(tmp_path)],
        lambda stdout: (tmp_path / "history.json").exists(),
        wait_s=1,
    )
    assert code != 0
    saved = len(json.loads((tmp_path / "history.json").read_text()))
    assert f"holds its first {saved} epoch(s)" in err
    X = np.random.default_rng(0).random((64, 1, 64, 64), dtype=np.float32)
    vae = VAETransformer(
        n_latent=4, max_epochs=saved + 1, batch_size=16, checkpoint_dir=tmp_path
    ).fit(X)
    assert len(vae.history_) == saved + 1  # resumed: one epoch trained here


class _StopAfter(Callback):
    """A user's callback ending training the skorch way: KeyboardInterrupt."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


def test_callbacks_still_stop_training_by_raising_keyboard_interrupt(images):
    vae = VAETransformer(
        n_latent=4, max_epochs=5, batch_size=32, callbacks=[("stop", _StopAfter())]
    ).fit(images)
    assert len(vae.history_) == 2


@pytest.mark.slow
def test_ctrl_c_in_the_study_caches_only_finished_stages(tmp_path, monkeypatch):
    # Every stage as small as it goes, but a long latent search to cut.
    settings = tmp_path / "study.toml"
    settings.write_text(
        'n_samples = 120\nlatents = [2, 4]\nmodels = ["xu2023"]\nepochs = 40\n'
        "final_epochs = 1\nn_pairs = 40\nda_epochs = 1\nn_trees = 10\n"
        "min_question_samples = 5\ntsne_max = 40\n"
    )
    argv = ["study", "--config", str(settings), "--out", str(tmp_path)]

    def finished(stage):
        return any((tmp_path / "cache").rglob(f"{stage}/*/output.pkl"))

    code, out, err = _interrupt(
        [sys.executable, "-m", "skgalvae", *argv],
        lambda stdout: finished("_load"),
        # Into the latent search's 40 epochs, past the optimiser's first
        # imports even on a loaded machine.
        wait_s=8,
        timeout=300,
    )
    assert code == 130
    assert "skgalvae study: interrupted; finished stages are cached" in err
    assert "Traceback" not in err
    assert finished("_load") and not finished("_search")
    assert not (tmp_path / "results.json").exists()
    # The re-run takes the data from the cache and runs the search. It needs
    # no 40 epochs now: the data stage does not read them (its cache entry
    # still serves), and the cut search is shown uncached above.
    settings.write_text(settings.read_text().replace("epochs = 40", "epochs = 2"))
    loads, searches = [], []
    load, search = _stage_data.load_study_data, _stage_latents.search_latents
    monkeypatch.setattr(
        _stage_data, "load_study_data", lambda *a: loads.append(1) or load(*a)
    )
    monkeypatch.setattr(
        _stage_latents, "search_latents", lambda *a: searches.append(1) or search(*a)
    )
    assert main(argv) == 0
    assert loads == [] and searches == [1]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["latent_dimension"]["chosen"] in (2, 4)
