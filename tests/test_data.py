import numpy as np
import torch

from skgalvae.nn import ArrayDataset, DeviceBatchLoader
from skgalvae.nn.data import should_stage


def _collect(loader):
    return [x for x, y in loader if y is None]


def test_staged_and_streamed_batches_agree():
    array = np.arange(10 * 2 * 4 * 4, dtype=np.uint8).reshape(10, 2, 4, 4)
    dataset = ArrayDataset(array, scale=255.0)
    staged = _collect(DeviceBatchLoader(dataset, batch_size=4, stage=True))
    streamed = _collect(DeviceBatchLoader(dataset, batch_size=4, stage=False))
    assert [len(b) for b in staged] == [4, 4, 2]
    for a, b in zip(staged, streamed, strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(
        torch.cat(staged), torch.from_numpy(array / 255.0).float()
    )


def test_shuffle_visits_every_sample_once_and_is_seedable():
    array = np.arange(50, dtype=np.float32)[:, None]
    loader = DeviceBatchLoader(ArrayDataset(array), batch_size=8, shuffle=True)
    torch.manual_seed(3)
    first = torch.cat(_collect(loader)).ravel()
    torch.manual_seed(3)
    again = torch.cat(_collect(loader)).ravel()
    assert sorted(first.tolist()) == list(range(50))
    assert not torch.equal(first, torch.arange(50.0))
    torch.testing.assert_close(first, again)


def test_channels_last_batches():
    array = np.random.default_rng(0).random((6, 3, 8, 8), dtype=np.float32)
    loader = DeviceBatchLoader(ArrayDataset(array), batch_size=6, channels_last=True)
    (batch,) = _collect(loader)
    assert batch.is_contiguous(memory_format=torch.channels_last)


def test_memmap_is_streamed_on_cpu(tmp_path):
    memmap = np.lib.format.open_memmap(
        tmp_path / "x.npy", mode="w+", dtype=np.uint8, shape=(20, 1, 8, 8)
    )
    memmap[:] = 7
    assert not should_stage(memmap, "cpu")
    assert should_stage(np.zeros((2, 2)), "cpu")
    loader = DeviceBatchLoader(
        ArrayDataset(memmap, scale=7.0), batch_size=6, shuffle=True
    )
    batches = _collect(loader)
    assert not loader.stage
    assert sum(len(b) for b in batches) == 20
    assert all(torch.all(b == 1.0) for b in batches)


def test_float64_is_cast_before_staging(monkeypatch):
    array = np.random.default_rng(0).random((6, 2, 4, 4))  # float64
    moved = []
    original_to = torch.Tensor.to

    def recording_to(self, *args, **kwargs):
        moved.append(self.dtype)
        return original_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    loader = DeviceBatchLoader(ArrayDataset(array), batch_size=6, stage=True)
    (batch,) = _collect(loader)
    assert loader._staged.dtype == torch.float32
    # The first conversion is the float64 -> float32 cast itself; the staged
    # tensor is never moved while still float64 after it.
    assert moved[0] == torch.float64 and torch.float64 not in moved[1:]
    torch.testing.assert_close(batch, torch.from_numpy(array).float())
