"""Seeded, resumable, parallel data generation from a problem family to ``.npz``.

``generate(family, "burgers.npz", n_samples=1100)`` solves members ``0 .. n-1`` with their
reference solvers and stores ``inputs``, ``targets`` (the family's grids, channels last),
``indices``, the reference's wall time per sample and a JSON ``metadata`` record (family
settings, sample range, versions, date). Guarantees:

- *seeded*: sample ``i`` depends only on ``(family.seed, i)``, so any sample can be
  reproduced alone (``family.sample(i)``) and the result does not depend on ``workers``;
- *resumable*: samples are computed in chunks, each written atomically to
  ``<path stem>.chunks/`` and skipped when already present (after checking that it was made
  by the same family settings); the chunks are merged into ``path`` at the end;
- *parallel*: chunks run on a :class:`concurrent.futures.ProcessPoolExecutor` (``spawn``
  start method; one process per CPU core by default), with a tqdm progress bar over samples.
  ``spawn`` re-imports the main script in each worker, so scripts that generate data with
  ``workers > 1`` need the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from pde_lab.data.families import Family
from pde_lab.validation import check_int

__all__ = ["Dataset", "generate", "generate_arrays", "load_dataset"]

#: Samples per chunk file: the unit of resumption and of parallel work.
CHUNK_SIZE = 16


@dataclass(frozen=True)
class Dataset:
    """Input/target pairs of a family: ``inputs (n, *grid, c_in)``, ``targets (n, *grid, c_out)``."""

    inputs: np.ndarray
    targets: np.ndarray
    indices: np.ndarray
    reference_wall_s: np.ndarray
    metadata: dict

    def __len__(self) -> int:
        return len(self.indices)

    def subset(self, selection: slice | np.ndarray) -> Dataset:
        """The samples at ``selection`` (a slice or index array), same metadata."""
        return Dataset(self.inputs[selection], self.targets[selection], self.indices[selection],
                       self.reference_wall_s[selection], self.metadata)


def _compute_chunk(family: Family, indices: list[int]) -> dict[str, np.ndarray]:
    inputs, targets, walls = [], [], []
    for index in indices:
        problem = family.problem(index)
        start = time.perf_counter()
        reference = problem.reference()
        walls.append(time.perf_counter() - start)
        if not reference.status.ok:
            raise RuntimeError(f"reference of {family.name} member {index} failed: {reference.message}")
        inputs.append(family.inputs(problem))
        targets.append(family.targets(reference))
    return {"inputs": np.stack(inputs), "targets": np.stack(targets), "indices": np.asarray(indices),
            "reference_wall_s": np.asarray(walls)}


def _write_chunk(family: Family, indices: list[int], path: str) -> int:
    from pde_lab.io import write_atomically

    arrays = _compute_chunk(family, indices)
    metadata = json.dumps(family.metadata(), sort_keys=True)

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.savez(handle, metadata=np.array(metadata), **arrays)

    write_atomically(Path(path), write)
    return len(indices)


def _progress_bar(total: int, initial: int, progress: bool | None, description: str):
    from tqdm.auto import tqdm

    disable = not (sys.stderr.isatty() if progress is None else progress)
    return tqdm(total=total, initial=initial, disable=disable, desc=description, unit="sample")


def _run_chunks(family: Family, jobs: list[tuple[list[int], Any]], workers: int, bar, function) -> list[Any]:
    """Run ``function(family, indices, extra)`` per job, in-process for one worker."""
    results: list[Any] = [None] * len(jobs)
    if workers == 1 or len(jobs) == 1:
        for k, (indices, extra) in enumerate(jobs):
            results[k] = function(family, indices, *extra)
            bar.update(len(indices))
        return results
    import multiprocessing

    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(function, family, indices, *extra): k for k, (indices, extra) in enumerate(jobs)}
            for future in as_completed(futures):
                k = futures[future]
                results[k] = future.result()
                bar.update(len(jobs[k][0]))
    except BrokenProcessPool as error:
        raise RuntimeError(
            "a data-generation worker process died. Worker processes are started with 'spawn', which "
            "re-imports your main script: put the calling code under `if __name__ == \"__main__\":`, or "
            "pass workers=1 to generate in this process (chunks already written are kept)") from error
    return results


def _workers(workers: int | None, jobs: int) -> int:
    workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers)
    return max(1, min(workers, jobs))


def generate_arrays(family: Family, indices: range | list[int], *, workers: int | None = None,
                    progress: bool | None = None) -> Dataset:
    """Members ``indices`` of ``family`` in memory (parallel, seeded; nothing written)."""
    if not isinstance(family, Family):
        raise TypeError(f"family must be a pde_lab.data.Family, got {type(family).__name__}")
    indices = [check_int("index", i, 0) for i in indices]
    if not indices:
        raise ValueError("no samples requested")
    jobs = [(indices[k:k + CHUNK_SIZE], ()) for k in range(0, len(indices), CHUNK_SIZE)]
    with _progress_bar(len(indices), 0, progress, f"data {family.name}") as bar:
        parts = _run_chunks(family, jobs, _workers(workers, len(jobs)), bar, _compute_chunk)
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return Dataset(metadata=family.metadata(), **merged)


def generate(family: Family, path: str | PathLike, n_samples: int, *, start: int = 0,
             workers: int | None = None, progress: bool | None = None, chunk_size: int = CHUNK_SIZE) -> Path:
    """Write members ``start .. start + n_samples - 1`` of ``family`` to ``path`` (``.npz``).

    Returns ``path``; if it already holds exactly this data set it is returned untouched.
    Interrupted runs continue from the chunks in ``<stem>.chunks/`` (``chunk_size`` samples
    each; keep it when resuming).

    Raises
    ------
    ValueError
        If ``path`` (or a chunk) holds data of other family settings or another range.
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be a pde_lab.data.Family, got {type(family).__name__}")
    n_samples, start = check_int("n_samples", n_samples), check_int("start", start, 0)
    chunk_size = check_int("chunk_size", chunk_size)
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"dataset path must end in .npz, got {str(path)!r}")
    expected = {**family.metadata(), "start": start, "n_samples": n_samples}
    if path.exists():
        found = load_dataset(path).metadata
        if {k: found.get(k) for k in expected} != expected:
            raise ValueError(f"{path} holds another data set ({_difference(found, expected)}); "
                             "choose another path or delete it")
        return path
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    folder = path.with_suffix(".chunks")
    folder.mkdir(exist_ok=True)
    indices = list(range(start, start + n_samples))
    chunks = [indices[k:k + chunk_size] for k in range(0, n_samples, chunk_size)]
    files = [folder / f"samples_{c[0]:07d}-{c[-1]:07d}.npz" for c in chunks]
    done = 0
    for chunk, file in zip(chunks, files, strict=True):
        if file.exists():
            _check_chunk(file, family, chunk)
            done += len(chunk)
    jobs = [(c, (str(f),)) for c, f in zip(chunks, files, strict=True) if not f.exists()]
    wall = time.perf_counter()
    with _progress_bar(n_samples, done, progress, f"data {family.name}") as bar:
        if jobs:
            _run_chunks(family, jobs, _workers(workers, len(jobs)), bar, _write_chunk)
    parts = [np.load(file) for file in files]
    arrays = {key: np.concatenate([part[key] for part in parts])
              for key in ("inputs", "targets", "indices", "reference_wall_s")}
    import torch

    metadata = {**expected, "created": datetime.datetime.now().isoformat(timespec="seconds"),
                "generation_wall_s": time.perf_counter() - wall, "numpy": np.__version__,
                "torch": torch.__version__, "input_shape": list(arrays["inputs"].shape[1:]),
                "target_shape": list(arrays["targets"].shape[1:])}
    from pde_lab.io import write_atomically

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.savez(handle, metadata=np.array(json.dumps(metadata, sort_keys=True)), **arrays)

    write_atomically(path, write)
    shutil.rmtree(folder, ignore_errors=True)
    return path


def _check_chunk(file: Path, family: Family, indices: list[int]) -> None:
    with np.load(file) as chunk:
        found = json.loads(str(chunk["metadata"]))
        if found != json.loads(json.dumps(family.metadata(), sort_keys=True)) or list(chunk["indices"]) != indices:
            raise ValueError(f"chunk {file} was made with other settings ({_difference(found, family.metadata())}); "
                             f"delete {file.parent} to start afresh")


def _difference(found: dict, expected: dict) -> str:
    keys = [k for k in expected if found.get(k) != expected[k]]
    return ", ".join(f"{k}: {found.get(k)!r} != {expected[k]!r}" for k in keys[:4]) or "different"


def load_dataset(path: str | PathLike) -> Dataset:
    """Read a data set written by :func:`generate`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no dataset at {path}; create it with pde_lab.data.generate(family, path, n)")
    try:
        with np.load(path) as data:
            return Dataset(data["inputs"], data["targets"], data["indices"], data["reference_wall_s"],
                           json.loads(str(data["metadata"])))
    except (KeyError, ValueError, OSError) as error:
        raise ValueError(f"{path} is not a pde_lab dataset: {error}") from None
