"""The uint8 video store round-trips exactly and reads zero-copy."""

import numpy as np
import pytest

from echocmr.media.store import StoreWriter, VideoStore


def test_store_round_trips_frames_across_shards(tmp_path):
    rng = np.random.default_rng(0)
    videos = {f"V{i}": rng.integers(0, 256, (5 + i, 8, 8), dtype=np.uint8) for i in range(4)}
    for shard in (0, 1):
        with StoreWriter(tmp_path / f"shard-{shard}", 8, 8) as w:
            for key in list(videos)[shard * 2:(shard + 1) * 2]:
                w.add(key, "S1", "P1", 30.0, iter(videos[key]))
    store = VideoStore([tmp_path / "shard-0", tmp_path / "shard-1"])
    assert sorted(store.keys()) == sorted(videos)
    for key, expected in videos.items():
        got = store.frames(key)
        assert isinstance(got, np.memmap)
        np.testing.assert_array_equal(got, expected)
    assert store.info("V3")["n_frames"] == 8


def test_store_rejects_wrong_frame_shape(tmp_path):
    w = StoreWriter(tmp_path / "s", 8, 8)
    with pytest.raises(ValueError, match="frame shape"):
        w.add("V0", "S", "P", 30, [np.zeros((4, 4), np.uint8)])


def test_empty_shard_is_readable(tmp_path):
    StoreWriter(tmp_path / "s", 8, 8).close()
    assert len(VideoStore([tmp_path / "s"])) == 0
