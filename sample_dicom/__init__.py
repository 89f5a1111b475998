"""The synthetic sample studies and their ground truth (installed as ``ovcf_viewer.samples``);
the training library offers them. Regenerate with ``python scripts/make_samples.py``."""
