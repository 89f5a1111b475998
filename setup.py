"""Packaging that pyproject.toml cannot express on its own.

``resources/`` (the rules table and other bundled data) and ``sample_dicom/`` (the synthetic
studies with their ground truth, which the training library offers) stay at the top of the
repository, yet ship inside the package as ``ovcf_viewer.resources`` and
``ovcf_viewer.samples``; the code reads them through :mod:`importlib.resources`, so a normal
(non-editable) install finds them. Everything else about the project is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["ovcf_viewer", "ovcf_viewer.*"]),
        "ovcf_viewer.resources",
        "ovcf_viewer.samples",
    ],
    package_dir={
        "ovcf_viewer.resources": "resources",
        "ovcf_viewer.samples": "sample_dicom",
    },
    package_data={
        "ovcf_viewer": ["py.typed"],
        "ovcf_viewer.resources": ["*.toml", "*.json", "*.md"],
        "ovcf_viewer.samples": ["*.md", "*/*.dcm", "*/*.json"],
    },
)
