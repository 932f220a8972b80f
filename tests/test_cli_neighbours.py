"""skgalvae neighbours: nearest galaxies by id, from a latent table or a model."""

import io

import joblib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from skgalvae import VAETransformer
from skgalvae.cli import main
from skgalvae.datasets import make_galaxies
from skgalvae.inspection import similar_galaxies
from skgalvae.preprocessing import MTFStretch
from skgalvae.survey import encode_survey, read_latents

zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A 60-galaxy zarr survey with ids, a fitted model and its latent table."""
    root = tmp_path_factory.mktemp("neighbours")
    images = make_galaxies(60, random_state=0).images
    objid = 7_000 + np.arange(60)
    store = zarr.open_group(str(root / "survey.zarr"), mode="w")
    store.create_array("images", data=images, chunks=(20, 3, 64, 64))
    store.create_array("objid", data=objid)
    model = make_pipeline(
        MTFStretch(), VAETransformer(4, max_epochs=1, batch_size=16, random_state=0)
    ).fit(images)
    joblib.dump(model, root / "model.joblib")
    table = root / "latents.parquet"
    encode_survey(model, images, table, ids=objid, batch_size=20, progress=False)
    return root


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, pd.read_csv(io.StringIO(captured.out)), captured.err


def test_table_neighbours_are_the_library_answer_by_id(survey, capsys):
    code, out, _ = _run(
        ["neighbours", str(survey / "latents.parquet"), "7003", "7010", "-k", "4"],
        capsys,
    )
    assert code == 0
    assert list(out.columns) == ["query_id", "rank", "id", "distance"]
    table = read_latents(survey / "latents.parquet")
    expected = similar_galaxies(table, [3, 10], n_neighbors=4)
    np.testing.assert_array_equal(out["id"], expected["id"])
    np.testing.assert_array_equal(out["query_id"], [7003] * 4 + [7010] * 4)
    np.testing.assert_allclose(out["distance"], expected["distance"], rtol=1e-5)


def test_a_model_encodes_the_images_and_draws_a_grid(survey, capsys):
    grid = survey / "grid.png"
    code, out, err = _run(
        ["neighbours", str(survey / "model.joblib"), "7003", "-k", "4",
         "--images", str(survey / "survey.zarr"), "--key", "images",
         "--ids", "objid", "--grid", str(grid)],
        capsys,
    )  # fmt: skip
    assert code == 0 and "wrote" in err
    _, from_table, _ = _run(
        ["neighbours", str(survey / "latents.parquet"), "7003", "-k", "4"], capsys
    )
    np.testing.assert_array_equal(out["id"], from_table["id"])
    picture = matplotlib.image.imread(grid)
    assert picture.shape[1] > 3 * picture.shape[0]  # one row: query + 4


@pytest.mark.parametrize(
    "extra, message",
    [
        (["123"], "id(s) 123 are not in 60 rows of latents"),
        (["7003", "--grid", "g.png"], "--grid draws the images: pass --images"),
        (["7003", "--key", "images"], "--key names the image array of --images"),
        (["7003", "--ids", "objid"], "has its own ids"),
    ],
)
def test_mistakes_exit_2_with_one_line(survey, capsys, extra, message):
    with pytest.raises(SystemExit) as exit:
        main(["neighbours", str(survey / "latents.parquet"), *extra])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_a_model_needs_images_and_a_table_must_exist(survey, capsys):
    for argv, message in (
        ([str(survey / "model.joblib"), "7003"], "is a model: pass --images"),
        ([str(survey / "nothing.parquet"), "1"], "does not exist"),
    ):
        with pytest.raises(SystemExit) as exit:
            main(["neighbours", *argv])
        assert exit.value.code == 2
        assert message in capsys.readouterr().err


def test_a_survey_with_no_readable_image_is_named(survey, tmp_path, capsys):
    store = zarr.open_group(str(tmp_path / "blank.zarr"), mode="w")
    store.create_array("images", data=np.full((4, 3, 64, 64), np.nan, np.float32))
    with pytest.raises(SystemExit) as exit:
        main(["neighbours", str(survey / "model.joblib"), "0",
              "--images", str(tmp_path / "blank.zarr"), "--key", "images"])  # fmt: skip
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "no image of" in err and "row 0: non-finite values" in err


def test_invariant_and_standardized_searches(survey, capsys):
    from skgalvae.inspection import invariant_latents

    model = joblib.load(survey / "model.joblib")
    images = zarr.open_group(str(survey / "survey.zarr"), mode="r")["images"][:]
    code, out, _ = _run(
        ["neighbours", str(survey / "model.joblib"), "7003", "-k", "4",
         "--images", str(survey / "survey.zarr"), "--key", "images",
         "--ids", "objid", "--invariant", "--standardize"],
        capsys,
    )  # fmt: skip
    assert code == 0
    expected = similar_galaxies(
        invariant_latents(model, images), [3], n_neighbors=4, standardize=True
    )
    np.testing.assert_array_equal(out["id"], 7_000 + expected["row"].to_numpy())
    with pytest.raises(SystemExit) as exit:
        main(["neighbours", str(survey / "latents.parquet"), "7003", "--invariant"])
    assert exit.value.code == 2
    assert "--invariant encodes the images anew" in capsys.readouterr().err
