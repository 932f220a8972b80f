"""fetch_gz_decals and ``skgalvae study --gz-decals``, against a loopback server.

The fixture is a small GZ DECaLS DR5 in the real files' format: two parquet
catalogues in the "ortho" schema (vote counts per answer, subfolder,
filename, ids, ra, dec) and a tar.gz of JPEGs under ``images/``, made from
simulated galaxies and their simulated votes. A server on 127.0.0.1 serves
them; nothing reaches the internet.
"""

import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from PIL import Image

pytest.importorskip("pyarrow")
pytest.importorskip("pooch")

from skgalvae.cli import main  # noqa: E402
from skgalvae.datasets import _gz_decals, fetch_gz_decals, make_galaxies  # noqa: E402
from skgalvae.datasets._fetch import RemoteFile  # noqa: E402
from skgalvae.labels import GZD5_QUESTIONS, gzd5_labels  # noqa: E402
from skgalvae.preprocessing import MTFStretch  # noqa: E402

N_TRAIN, N_TEST = 70, 30


def _jpeg(image):
    rgb = MTFStretch().fit_transform(image[None])[0][::-1]  # z, r, g -> R, G, B
    pixels = np.clip(np.moveaxis(rgb, 0, -1) * 255, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _build_fixture():
    """Bytes of the three files, and the simulator's votes row for row."""
    data = make_galaxies(N_TRAIN + N_TEST, random_state=5)
    rows, archive = [], io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for i, image in enumerate(data.images):
            name = f"J{i:03d}000.00+010000.0.jpg"
            folder = f"J{i:03d}"
            payload = _jpeg(image)
            info = tarfile.TarInfo(f"images/{folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
            row = {
                "iauname": name[:-4], "id_str": f"dr5_{i}", "ra": 10.0 + i,
                "dec": -5.0 + 0.1 * i, "subfolder": folder, "filename": name,
            }  # fmt: skip
            for question, answers in _gz_decals.GZD5_ANSWERS.items():
                total = 40
                for answer in answers:
                    share = data.votes[f"{question}_{answer}_fraction"].iloc[i]
                    count = 0 if np.isnan(share) else int(round(share * total))
                    row[f"{question}-dr5_{answer}"] = count
                    row[f"{question}-dr8_{answer}"] = np.nan  # other campaigns
            rows.append(row)
    catalog = pd.DataFrame(rows)

    def parquet(frame):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()

    files = {
        "train": parquet(catalog.iloc[:N_TRAIN]),
        "test": parquet(catalog.iloc[N_TRAIN:]),
        "images": archive.getvalue(),
    }
    return files, catalog


@pytest.fixture(scope="module")
def fixture_files():
    return _build_fixture()


class _Server:
    """Serves ``files`` by name; a name in ``broken`` is sent corrupt or cut."""

    def __init__(self, files):
        self.files = dict(files)
        self.broken = {}
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                name = self.path.lstrip("/")
                server.requests.append(name)
                if name not in server.files:
                    self.send_error(404)
                    return
                payload = server.files[name]
                mode = server.broken.get(name)
                if mode == "corrupt":
                    payload = payload[:-10] + b"0123456789"
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if mode == "interrupted":  # half the bytes, then hang up
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.connection.close()
                    return
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(fixture_files, monkeypatch):
    files, _ = fixture_files
    names = {key: _gz_decals.GZ_DECALS_FILES[key].name for key in files}
    served = _Server({names[key]: payload for key, payload in files.items()})
    remote = {
        key: RemoteFile(
            names[key], f"{served.url}/{names[key]}", hashlib.md5(payload).hexdigest()
        )  # fmt: skip
        for key, payload in files.items()
    }
    monkeypatch.setattr(_gz_decals, "GZ_DECALS_FILES", remote)
    yield served
    served.close()


def test_fetch_downloads_once_and_returns_the_study_s_labels(
    server, fixture_files, tmp_path
):
    _, catalog = fixture_files
    data = fetch_gz_decals(tmp_path, subset="all", image_size=64)
    assert data.images.shape == (N_TRAIN + N_TEST, 3, 64, 64)
    assert data.images.dtype == np.uint8 and data.images.max() > 100
    assert list(data.labels.columns) == list(GZD5_QUESTIONS)
    # Fractions are counts over the question's total, as gzd5_labels reads.
    smooth = catalog["smooth-or-featured-dr5_smooth"]
    answers = ("smooth", "featured-or-disk", "artifact")
    total = catalog[[f"smooth-or-featured-dr5_{a}" for a in answers]].sum(axis=1)
    np.testing.assert_allclose(
        data.votes["smooth-or-featured_smooth_fraction"], smooth / total
    )
    pd.testing.assert_frame_equal(data.labels, gzd5_labels(data.votes))
    assert list(data.ids[:2]) == ["dr5_0", "dr5_1"]
    assert list(data.params.columns[:3]) == ["id", "iauname", "id_str"]
    np.testing.assert_allclose(data.params["ra"], 10.0 + np.arange(100))
    assert not any("-dr" in c for c in data.params.columns)
    assert sorted(server.requests) == sorted(
        f.name for f in _gz_decals.GZ_DECALS_FILES.values()
    )
    # The cache serves the next calls: no request, even offline.
    server.requests.clear()
    test = fetch_gz_decals(tmp_path, subset="test", download_if_missing=False)
    assert len(test.images) == N_TEST and list(test.ids[:1]) == [f"dr5_{N_TRAIN}"]
    sample = fetch_gz_decals(tmp_path, n_samples=20, random_state=1)
    again = fetch_gz_decals(tmp_path, n_samples=20, random_state=1)
    np.testing.assert_array_equal(sample.images, again.images)
    assert set(sample.ids) <= {f"dr5_{i}" for i in range(N_TRAIN)}
    assert server.requests == []


@pytest.mark.parametrize("mode", ["corrupt", "interrupted"])
def test_a_bad_download_leaves_nothing_and_is_retried(server, tmp_path, mode):
    name = _gz_decals.GZ_DECALS_FILES["train"].name
    server.broken[name] = mode
    expected = (
        (ValueError, "is corrupt: its MD5")
        if mode == "corrupt"
        else (OSError, "Could not download .*run again to restart it")
    )
    with pytest.raises(expected[0], match=expected[1]):
        fetch_gz_decals(tmp_path)
    folder = tmp_path / "gz_decals_5"
    assert [p.name for p in folder.iterdir()] == []  # no partial or temporary file
    del server.broken[name]
    assert len(fetch_gz_decals(tmp_path).images) == N_TRAIN


def test_offline_errors_say_what_to_do(server, tmp_path, monkeypatch):
    with pytest.raises(OSError, match="is not there and download_if_missing=False"):
        fetch_gz_decals(tmp_path, download_if_missing=False)
    url = server.url
    server.close()  # the network is gone
    with pytest.raises(OSError, match=f"Could not download {url}/decals_dr5_ortho"):
        fetch_gz_decals(tmp_path)
    with pytest.raises(ValueError, match="subset must be one of"):
        fetch_gz_decals(tmp_path, subset="validation")
    monkeypatch.setenv("SKGALVAE_DATA", str(tmp_path / "home"))
    with pytest.raises(OSError, match=str(tmp_path / "home" / "gz_decals_5")):
        fetch_gz_decals(download_if_missing=False)


@pytest.mark.slow
def test_study_runs_on_gz_decals_end_to_end(server, tmp_path):
    out = tmp_path / "out"
    argv = ["study", "--gz-decals", str(tmp_path / "data"), "--out", str(out),
            "--quick", "--n-samples", "100", "--latents", "2,4",
            "--epochs", "1"]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["data"]["n_galaxies"] == 100
    assert "Galaxy Zoo DECaLS DR5" in results["data"]["name"]
    assert list(results["classification"]["vae"]) == list(GZD5_QUESTIONS)
    assert "skipped" in results["domain_adaptation"]  # no paired survey here
    assert (out / "report.md").exists()
