r"""Derivative engines: how :class:`~pde_lab.fields.Fields` computes ``f.u_xx``, ``f.lap("u")``.

========================  ==================================================================
``"autograd"``            nested reverse mode, the baseline (:class:`pde_lab.fields.AutogradEngine`)
``"taylor"``              exact, forward-propagated jets of any order (:mod:`.taylor`)
``"forward-laplacian"``   exact Laplacian and gradient in one forward pass (:mod:`.forward_laplacian`)
``"stde"``                unbiased randomized Laplacian for high dimensions (:mod:`.stde`)
========================  ==================================================================

>>> from pde_lab.derivatives import make_engine
>>> make_engine("stde", samples=8).samples
8
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["ENGINES", "make_engine"]

#: Engine names, in the order of the table above.
ENGINES = ("autograd", "taylor", "forward-laplacian", "stde")


def make_engine(name: str | Any, network: Any = None, **options: Any) -> Any:
    """The engine called ``name`` for ``network`` (options: ``samples``, ``estimator``, ``seed`` for STDE).

    An engine object (anything with ``values`` and ``partial``) is returned unchanged.
    """
    if not isinstance(name, str):
        if callable(getattr(name, "values", None)) and callable(getattr(name, "partial", None)):
            return name
        raise TypeError(f"derivatives must be an engine name ({', '.join(ENGINES)}) or an engine, got {name!r}")
    if name not in ENGINES:
        raise ValueError(f"unknown derivative engine {name!r}; known engines: {', '.join(ENGINES)}")
    if name == "autograd":
        from pde_lab.fields import AutogradEngine

        if options:
            raise TypeError(f"the autograd engine takes no options, got {sorted(options)}")
        return AutogradEngine()
    if name == "taylor":
        from pde_lab.derivatives.taylor import TaylorEngine as engine
    elif name == "forward-laplacian":
        from pde_lab.derivatives.forward_laplacian import ForwardLaplacianEngine as engine
    else:
        from pde_lab.derivatives.stde import STDEEngine as engine
    allowed = {f.name for f in dataclasses.fields(engine) if f.init} - {"network"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"engine {name!r} has no option(s) {sorted(unknown)}; options: {sorted(allowed) or 'none'}")
    return engine(network, **options)
