"""OVCF Viewer: measure osteoporotic vertebral compression fractures on lateral radiographs."""

__version__ = "0.1.0"
