"""Everything but ``ovcf_viewer.qt`` must import and work without Qt (the headless contract
napari keeps): every module of every other subpackage is imported with PySide6 blocked."""

import pkgutil
import subprocess
import sys
import textwrap

import ovcf_viewer

#: The Qt-free packages (everything under ovcf_viewer except qt).
HEADLESS = ("util", "model", "measure", "io", "render", "suitability", "report", "services",
            "cli", "devtools")


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(ovcf_viewer.__path__, "ovcf_viewer."):
        top = info.name.split(".")[1]
        if top in HEADLESS and not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names) + ["ovcf_viewer.system_libraries"]


def test_every_top_level_package_is_classified():
    data = {"resources", "samples"}  # shipped data, no code
    tops = {i.name for i in pkgutil.iter_modules(ovcf_viewer.__path__) if i.ispkg} - data
    assert tops == set(HEADLESS) | {"qt"}, tops


def test_headless_modules_import_with_qt_blocked():
    names = _modules()
    for package in HEADLESS:
        assert f"ovcf_viewer.{package}" in names, package
    script = textwrap.dedent(
        f"""
        import importlib, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6') \\
                        or name.startswith('ovcf_viewer.qt'):
                    raise ImportError('blocked: ' + name)
                return None
        sys.meta_path.insert(0, Block())
        for name in {names!r}:
            importlib.import_module(name)
        print('ok', len({names!r}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
