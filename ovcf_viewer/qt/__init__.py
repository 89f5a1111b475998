"""The Qt shell: windows, views, scene items and panels over the core models."""
