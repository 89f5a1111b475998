"""Developer tooling that is not part of the clinical application: the synthetic-film
generator (:mod:`.synthetic`) behind the benchmark, ``scripts/make_samples.py`` and the tests,
and lossless compressed copies of a film (:mod:`.compressed_films`).

Imports nothing from ovcf_viewer; outside the layers, never imported by the application.
"""
