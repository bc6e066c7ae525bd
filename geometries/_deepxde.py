"""Quiet, cached access to :mod:`deepxde.geometry`.

DeepXDE is imported here and nowhere else in :mod:`geometries`, lazily, the first time a
geometry samples points or answers a point query. Importing DeepXDE has side effects that
pde_lab does not want, so :func:`deepxde_geometry_module` contains them:

* it selects a backend from the ``DDE_BACKEND`` environment variable (set to ``"pytorch"``
  here unless the user chose one) and prints ``Using backend: ...`` to stderr;
* its PyTorch backend calls ``torch.set_default_device("cuda")`` when CUDA is available (and
  ``torch.set_default_tensor_type`` on old PyTorch, which also changes the default dtype).

Output is swallowed and torch's default dtype and device are restored. At call time,
:func:`deepxde_context` makes DeepXDE compute in float64 (its default is float32, which
would put sampled boundary points ~1e-7 off the boundary), hides its ``print`` warnings,
and puts its float precision back afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from types import ModuleType

__all__ = ["deepxde_context", "deepxde_geometry_module", "preserved_torch_defaults"]


@contextlib.contextmanager
def preserved_torch_defaults() -> Iterator[None]:
    """Restore ``torch``'s default dtype and default device on exit.

    Imports torch only if it is already imported or about to be needed (DeepXDE's PyTorch
    backend imports it anyway).
    """
    import torch

    dtype = torch.get_default_dtype()
    device = torch.get_default_device()
    try:
        yield
    finally:
        if torch.get_default_dtype() != dtype:
            torch.set_default_dtype(dtype)
        if torch.get_default_device() != device:
            # ``None`` removes the default-device mode entirely, which is what "cpu" means
            # when nobody had set one.
            torch.set_default_device(None if device.type == "cpu" else device)


@functools.cache
def deepxde_geometry_module() -> ModuleType:
    """Import and return :mod:`deepxde.geometry`, silently and only once.

    Sets ``DDE_BACKEND=pytorch`` unless already set, swallows everything DeepXDE writes to
    stdout/stderr or logs while importing, and leaves ``torch.get_default_dtype()`` and
    ``torch.get_default_device()`` as they were.

    Returns
    -------
    ModuleType
        The :mod:`deepxde.geometry` module.

    Raises
    ------
    ImportError
        If DeepXDE (or its PyTorch backend) is not installed.
    """
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    logger = logging.getLogger("deepxde")
    previous_level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    sink = io.StringIO()
    try:
        with (
            preserved_torch_defaults(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            module = importlib.import_module("deepxde.geometry")
    except ImportError as error:
        raise ImportError(
            f"geometries needs deepxde for sampling ({error}); install it with "
            "`pip install deepxde` (pde_lab lists it as a dependency)"
        ) from error
    finally:
        logger.setLevel(previous_level)
    return module


@contextlib.contextmanager
def deepxde_context() -> Iterator[ModuleType]:
    """Run DeepXDE geometry code in float64, without console output or noise warnings.

    DeepXDE's precision is a module-level setting (``deepxde.config.real``); it is switched
    to float64 for the duration of the block and restored afterwards, so a DeepXDE peer run
    in the same process keeps its own setting. Not thread-safe (neither is DeepXDE).

    Yields
    ------
    ModuleType
        :mod:`deepxde.geometry`.
    """
    module = deepxde_geometry_module()
    real = importlib.import_module("deepxde.config").real
    saved = (real.precision, real.reals)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # numpy 2 deprecates np.cross on 2-vectors, which DeepXDE's polygons use; skopt
        # warns that Sobol balance needs a power-of-two n, which DeepXDE never requests.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="The balance properties of Sobol")
        warnings.filterwarnings("ignore", message=".*points have been skipped")
        real.set_float64()
        try:
            yield module
        finally:
            real.precision, real.reals = saved
