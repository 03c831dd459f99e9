"""Work spread over ``jax.devices()``, on the CPU with two host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``, which must be set before JAX
starts: each check runs in a fresh interpreter).

- ``fit_many`` splits a group's sources over the devices (5 sources padded to 6) and
  gives each source its own fit's numbers (1e-6 of the errors);
- NUTS with ``chain_method="parallel"`` and as many devices as chains runs one chain
  per device (``pmap``) and draws what the sequential chains draw, up to rounding (the
  same on jax 0.4; 2e-5 of the posterior's width on jax 0.12, whose ``pmap`` compiles
  through ``jit`` and fuses otherwise): within 1e-3 of each parameter's posterior
  standard deviation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import jax
    sys.path.insert(0, sys.argv[1])
    from test_many import analysis, table
    from jointfit import BayesianAnalysis, Log_uniform_prior, Uniform_prior, fit_many
    from jointfit import nuts

    results, report = fit_many([analysis(seed) for seed in range(5)])
    worst = 0.0
    for seed, batched in enumerate(results):
        single = table(analysis(seed).fit(quiet=True))
        worst = max(worst, float(np.max(np.abs(table(batched)[:, 0] - single[:, 0]) / single[:, 2])))

    used = []
    original = nuts.NUTSPrograms.__init__
    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        used.append(self.on_devices)
    nuts.NUTSPrograms.__init__ = recording

    def draws(chain_method):
        jl = analysis(0)
        shape = jl.model.src.spectrum.main.shape
        shape.NH_1.prior = Log_uniform_prior(lower_bound=1e-2, upper_bound=10.0)
        shape.K_2.prior = Log_uniform_prior(lower_bound=1e-5, upper_bound=1e-1)
        shape.index_2.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
        bayes = BayesianAnalysis(jl.model, jl.data)
        bayes.sample("nuts", quiet=True, num_warmup=150, num_samples=100, num_chains=2, chain_method=chain_method)
        return bayes.results.samples_matrix

    parallel, sequential = draws("parallel"), draws("sequential")
    print(json.dumps({"devices": len(jax.devices()), "groups": list(report.groups), "batched": report.batched,
                      "worst_sigma": worst, "on_devices": used,
                      "nuts_difference": float(np.max(np.abs(parallel - sequential) / sequential.std(axis=0)))}))
""")


def test_fits_and_chains_spread_over_two_cpu_devices() -> None:
    environment = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    completed = subprocess.run([sys.executable, "-c", SCRIPT, str(HERE)], capture_output=True, text=True,
                               env=environment, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["devices"] == 2
    assert found["groups"] == [5] and found["batched"] == 5
    assert found["worst_sigma"] < 1e-6
    assert found["on_devices"] == [True, False]
    assert found["nuts_difference"] < 1e-3
