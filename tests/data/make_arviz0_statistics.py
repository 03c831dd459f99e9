"""Write arviz0_statistics.npz: ArviZ 0.x's own ESS, R-hat, HDI and WAIC of fixed
arrays, which tests/test_arviz_statistics.py asserts jointfit reproduces under every
ArviZ generation. Run under ArviZ 0.x: ``python tests/data/make_arviz0_statistics.py``."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np

HERE = Path(__file__).resolve().parent


def arrays() -> dict[str, np.ndarray]:
    """Draws ``(2, 600)`` of an AR(1) chain pair and a skewed pair, and log-likelihoods
    ``(2, 300, 12)``, from fixed seeds."""
    rng = np.random.default_rng(2026)
    ar = np.empty((2, 600))
    ar[:, 0] = rng.normal(size=2)
    for t in range(1, 600):
        ar[:, t] = 0.7 * ar[:, t - 1] + rng.normal(size=2)
    return {"autocorrelated": ar, "skewed": rng.gamma(1.5, size=(2, 600)),
            "log_likelihood": rng.normal(-1.0, 0.4, size=(2, 300, 12))}


def main() -> None:
    if int(az.__version__.split(".")[0]) >= 1:
        raise SystemExit("run this under ArviZ 0.x: its numbers are the reference")
    data = arrays()
    values = {}
    for name in ("autocorrelated", "skewed"):
        values[f"{name}/ess_bulk"] = az.ess(data[name], method="bulk")
        values[f"{name}/ess_tail"] = az.ess(data[name], method="tail")
        values[f"{name}/rhat"] = az.rhat(data[name])
        values[f"{name}/hdi_68"] = az.hdi(data[name].ravel(), hdi_prob=0.68)
    pointwise = az.from_dict(posterior={"_": np.zeros((2, 300))}, log_likelihood={"all": data["log_likelihood"]})
    values["log_likelihood/elpd_waic"] = az.waic(pointwise).elpd_waic
    np.savez(HERE / "arviz0_statistics.npz", arviz_version=az.__version__,
             **{k: np.asarray(v, dtype=float) for k, v in values.items()})
    print(f"wrote arviz0_statistics.npz with ArviZ {az.__version__}")


if __name__ == "__main__":
    main()
