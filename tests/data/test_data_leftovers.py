"""What a killed or damaged run leaves behind is cleaned up by the next run: a damaged chunk is
set aside and computed again, a temporary file of a killed final write is removed."""

from __future__ import annotations

import numpy as np

from upclens.data import generate_dataset, read_dataset
from upclens.data.generate import _manifest
from upclens.data.staging import Staging


def test_damaged_chunk_is_set_aside_and_redone(tiny_cfg, tmp_path, capsys):
    ref = generate_dataset(tiny_cfg, 8, 5, tmp_path / "ref.h5", workers=1, progress=False)
    out = tmp_path / "p.h5"
    staging = Staging(out, _manifest(tiny_cfg, 8, 5))
    staging.open()
    images, labels, _ = read_dataset(ref, indices=range(4))
    staging.write(0, images, np.stack(list(labels.values()), axis=1))
    staging.chunk_path(1).write_bytes(b"PK\x03\x04 not a zip at all")  # as a disk error leaves it
    generate_dataset(tiny_cfg, 8, 5, out, workers=1, progress=False)
    assert "chunk-00000001.npz is damaged (BadZipFile)" in capsys.readouterr().err
    assert read_dataset(out)[0].tobytes() == read_dataset(ref)[0].tobytes()
    assert not staging.folder.exists()


def test_checksum_failure_in_a_chunk_is_redone(tiny_cfg, tmp_path, capsys):
    ref = generate_dataset(tiny_cfg, 4, 5, tmp_path / "ref.h5", workers=1, progress=False)
    out = tmp_path / "p.h5"
    staging = Staging(out, _manifest(tiny_cfg, 4, 5))
    staging.open()
    images, labels, _ = read_dataset(ref)
    lab = np.stack(list(labels.values()), axis=1)
    staging.write(0, images, lab)
    with np.load(staging.chunk_path(0)) as data:
        sha = str(data["sha256"])
    np.savez(staging.chunk_path(0), images=images * 2, labels=lab, sha256=sha)
    generate_dataset(tiny_cfg, 4, 5, out, workers=1, progress=False)
    assert "fails its checksum" not in capsys.readouterr().out
    assert read_dataset(out)[0].tobytes() == images.tobytes()


def test_temporary_file_of_a_killed_final_write_is_removed(tiny_cfg, tmp_path):
    out = tmp_path / "d.h5"
    stale = tmp_path / ".d.h5.abc123.h5"  # the name atomic_path gives the HDF5 being written
    stale.write_bytes(b"half an HDF5 file")
    other = tmp_path / ".e.h5.abc123.h5"  # another output's: not ours to remove
    other.write_bytes(b"x")
    generate_dataset(tiny_cfg, 4, 5, out, workers=1, progress=False)
    assert not stale.exists()
    assert other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".e.h5.abc123.h5", "d.h5"]
