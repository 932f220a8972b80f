"""The Galaxy Zoo DESI loader on a small layout built here; errors name files."""

import numpy as np
import pandas as pd
import pytest

from skgalvae.datasets import load_gz_desi


def _layout(tmp_path, n=6, ids=True, flags=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    arrays = {"images": images}
    if ids:
        arrays["dr8_id"] = np.array([f"1_{i}" for i in range(n)])
    np.savez(tmp_path / "images.npz", **arrays)
    flags = flags if flags is not None else [(1, 0, 0), (0, 1, 0), (0, 0, 1)] * (n // 3)
    catalog = pd.DataFrame(
        {
            "OBJID": np.arange(n),
            "NVOTE": 30,
            "P_EL": rng.random(n),
            "P_CS": rng.random(n),
            "SPIRAL": [f[0] for f in flags],
            "ELLIPTICAL": [f[1] for f in flags],
            "UNCERTAIN": [f[2] for f in flags],
            "dr8_id": [f"1_{i}" for i in range(n)],
        }
    )
    catalog.to_csv(tmp_path / "catalog.csv", index=False)
    return images, catalog


def test_loads_into_the_simulator_bunch_shape(tmp_path):
    images, catalog = _layout(tmp_path)
    data = load_gz_desi(tmp_path)
    np.testing.assert_array_equal(data.images, images)
    assert (
        data.labels["gz1_class"].tolist() == ["spiral", "elliptical", "uncertain"] * 2
    )
    assert list(data.votes.columns) == ["NVOTE", "P_EL", "P_CS"]
    assert list(data.params.columns) == ["OBJID", "dr8_id"]
    small = load_gz_desi(tmp_path, image_size=16)
    assert small.images.shape == (6, 3, 16, 16) and small.images.dtype == np.uint8


def test_errors_name_the_file_and_row(tmp_path):
    with pytest.raises(FileNotFoundError, match="images.npz"):
        load_gz_desi(tmp_path)
    _layout(tmp_path, flags=[(1, 0, 0), (1, 1, 0), (0, 0, 1)] * 2)
    with pytest.raises(ValueError, match=r"row 1 must have exactly one of"):
        load_gz_desi(tmp_path)
    _, catalog = _layout(tmp_path)
    catalog.drop(columns=["P_EL"]).to_csv(tmp_path / "catalog.csv", index=False)
    with pytest.raises(
        KeyError, match=r"catalog.csv lacks the Galaxy Zoo 1 columns \['P_EL'\]"
    ):
        load_gz_desi(tmp_path)
    catalog.iloc[:4].to_csv(tmp_path / "catalog.csv", index=False)
    with pytest.raises(ValueError, match="has 4 rows but .*images.npz has 6 images"):
        load_gz_desi(tmp_path)
    swapped = catalog.copy()
    swapped.loc[[2, 3], "dr8_id"] = swapped.loc[[3, 2], "dr8_id"].to_numpy()
    swapped.to_csv(tmp_path / "catalog.csv", index=False)
    with pytest.raises(ValueError, match="Row 2: images.npz has dr8_id '1_2'"):
        load_gz_desi(tmp_path)
