"""Joint log-likelihood of the 3ML tutorial's two spectra: jointfit against 3ML.

Two GBM-like spectra (128 channels, the tutorial's demo response), two point sources,
kT linked, W-stat. Measured in the same run:

* 3ML: ``JointLikelihood.minus_log_like_profile`` (what its minimisers call: set the
  parameters, evaluate every plugin of the ``DataList``), per call;
* jointfit: the jit-compiled joint log-likelihood, per single call, with its gradient,
  and per point in a batch of 1000 (``jax.vmap``).

Targets (issue 5): >= 4x faster per single call, >= 20x per point batched.

3ML runs in its own virtualenv (``benchmarks/.venv-threeml``), made here on first use
with ``pip install threeML``; it is never a dependency of jointfit.

Run: ``.venv/bin/python benchmarks/ogip_loglike.py``; ``--jointfit-only`` skips 3ML and
times jointfit alone, also for batches of 10^4 and 10^5 points (for accelerators).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from reference_venv import reference_python, with_tutorial_model

HERE = Path(__file__).resolve().parent
THREEML_VENV = HERE / ".venv-threeml"
VALUES = [5e-8, 1e-7, 500.0, 200.0, -1.5]  # src1 K, src2 K_1, kT_1, F_2, index_2

THREEML_SCRIPT = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    from threeML import (Blackbody, DataList, DispersionSpectrumLike, JointLikelihood, Log_normal, Gaussian,
                         Model, PointSource, Powerlaw, Powerlaw_flux, silence_logs)
    from threeML.io.package_data import get_path_of_data_file
    from threeML.utils.OGIP.response import OGIPResponse
    silence_logs()
    response = OGIPResponse(get_path_of_data_file("datasets/ogip_powerlaw.rsp"))
    background = Powerlaw(K=1, index=-1.5, piv=1.0e3)
    s1 = DispersionSpectrumLike.from_function("s1", source_function=Blackbody(K=5e-8, kT=500.0),
                                              background_function=background, response=response)
    s2 = DispersionSpectrumLike.from_function(
        "s2", source_function=Blackbody(K=1e-7, kT=500.0) + Powerlaw_flux(F=2e2, index=-1.5, a=10, b=500),
        background_function=Powerlaw(K=1, index=-1.5, piv=1.0e3), response=response)
    # the tutorial's model
    s1.assign_to_source("src1")
    s2.assign_to_source("src2")
    jl = JointLikelihood(model, DataList(s1, s2), verbose=False)
    values = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    trials = [np.array(values) * (1 + 1e-3 * rng.normal(size=len(values))) for _ in range(200)]
    jl.minus_log_like_profile(*trials[0])
    start = time.perf_counter()
    for trial in trials:
        jl.minus_log_like_profile(*trial)
    per_call = (time.perf_counter() - start) / len(trials)
    print(json.dumps({"per_call": per_call, "channels": int(s1.n_data_points)}))
""")


def time_threeml() -> dict:
    python = reference_python(THREEML_VENV, "threeML")
    result = subprocess.run([str(python), "-c", with_tutorial_model(THREEML_SCRIPT), json.dumps(VALUES)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def seconds_per_call(function, argument, repeats: int) -> float:
    jax.block_until_ready(function(argument))  # compile and warm up
    start = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(function(argument))
    return (time.perf_counter() - start) / repeats


def time_jointfit(batch_sizes: tuple[int, ...] = (1000,)) -> dict:
    from jointfit.examples.point_source_fluxes import build_model, simulate_spectra

    plugins = simulate_spectra()
    model = build_model()
    space = model.compile(extra_parameters={k: p for plugin in plugins for k, p in plugin.nuisance_parameters.items()})
    loglikes = [plugin.setup(space) for plugin in plugins]

    def joint(theta):
        values = space.unpack(theta)
        return sum(loglike(values) for loglike in loglikes)

    theta = jnp.asarray(VALUES)
    single = seconds_per_call(jax.jit(joint), theta, 2000)
    gradient = seconds_per_call(jax.jit(jax.value_and_grad(joint)), theta, 2000)
    batched = {}
    for size in batch_sizes:
        batch = theta * (1 + 1e-3 * jax.random.normal(jax.random.PRNGKey(0), (size, theta.size)))
        batched[size] = seconds_per_call(jax.jit(jax.vmap(joint)), batch, max(5, 50_000 // size)) / size
    return {"single": single, "value_and_grad": gradient, "batched_per_point": batched[batch_sizes[0]],
            "batched": batched, "channels": plugins[0].n_bins}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jointfit-only", action="store_true", help="time jointfit alone (no 3ML)")
    if parser.parse_args().jointfit_only:
        ours = time_jointfit((1000, 10_000, 100_000))
        print(f"two spectra x {ours['channels']} channels, W-stat, kT linked ({jax.devices()[0].device_kind})")
        print(f"jointfit single call                 {ours['single'] * 1e6:10.1f} us")
        print(f"jointfit value and gradient          {ours['value_and_grad'] * 1e6:10.1f} us")
        for size, seconds in ours["batched"].items():
            print(f"jointfit batched ({size:>6}), per point {seconds * 1e6:10.3f} us")
        return
    reference = time_threeml()
    ours = time_jointfit()
    print(f"two spectra x {ours['channels']} channels, W-stat, kT linked ({jax.devices()[0].platform})")
    print(f"3ML   DataList log-likelihood        {reference['per_call'] * 1e6:10.1f} us per call")
    print(f"jointfit single call                 {ours['single'] * 1e6:10.1f} us   "
          f"ratio {reference['per_call'] / ours['single']:7.1f}x  (target >= 4x)")
    print(f"jointfit value and gradient          {ours['value_and_grad'] * 1e6:10.1f} us   "
          f"ratio {reference['per_call'] / ours['value_and_grad']:7.1f}x")
    print(f"jointfit batched (1000), per point   {ours['batched_per_point'] * 1e6:10.2f} us   "
          f"ratio {reference['per_call'] / ours['batched_per_point']:7.1f}x  (target >= 20x)")


if __name__ == "__main__":
    main()
