"""Running the sampler: nutpie (numba backend) by default, PyMC's NUTS as the alternative.

Seeds are fixed: the same model, data, settings and ``random_seed`` give identical
draws. Compile and sampling times are returned separately, because compiling is a
fixed cost per model structure.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.bayes.config import Sampler

if TYPE_CHECKING:
    import pymc as pm
    from arviz import InferenceData


def set_compile_dir(path: str | None = None) -> None:
    """Give this process its own PyTensor compile directory (no clashes with concurrent runs).

    Has an effect only before :mod:`pytensor` is first imported; ``PYTENSOR_FLAGS`` set by the
    caller wins.
    """
    if "PYTENSOR_FLAGS" in os.environ and "compiledir" in os.environ["PYTENSOR_FLAGS"]:
        return
    import tempfile

    d = path or os.path.join(tempfile.gettempdir(), f"toolkit-pytensor-{os.getuid()}-{os.getpid()}")
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    os.environ["PYTENSOR_FLAGS"] = ",".join(x for x in (flags, f"compiledir={d}") if x)


@dataclass
class SampleResult:
    """The posterior of a sampled model and the seconds spent compiling and sampling."""

    idata: InferenceData
    compile_seconds: float
    sample_seconds: float
    backend: str


def sample_model(
    model: pm.Model, settings: Sampler, random_seed: int, var_names: list[str] | None = None
) -> SampleResult:
    """Draw from ``model`` (a :class:`pymc.Model`) with the configured sampler.

    Parameters
    ----------
    model : pymc.Model
    settings : Sampler
        Backend, chains, cores, tune, draws, target acceptance, mass matrix.
    random_seed : int
        Fixed seed: a re-run gives identical draws.
    var_names : list of str, optional
        Variables to keep in the posterior (default: the free variables and deterministics).
    """
    if settings.backend == "nutpie":
        import nutpie

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = nutpie.compile_pymc_model(model, backend="numba", var_names=var_names)
        t1 = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.cores,
            seed=int(random_seed),
            progress_bar=False,
            save_warmup=False,
            target_accept=settings.target_accept,
            low_rank_modified_mass_matrix=settings.low_rank_mass_matrix,
        )
        t2 = time.perf_counter()
        return SampleResult(idata=idata, compile_seconds=t1 - t0, sample_seconds=t2 - t1, backend="nutpie")
    import pymc as pm

    t0 = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.cores,
            random_seed=int(random_seed),
            target_accept=settings.target_accept,
            progressbar=False,
            var_names=var_names,
            compute_convergence_checks=False,
        )
    return SampleResult(idata=idata, compile_seconds=0.0, sample_seconds=time.perf_counter() - t0, backend="pymc")
