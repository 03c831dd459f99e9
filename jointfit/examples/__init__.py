"""Runnable examples (``python -m jointfit.examples.<name>``)."""
