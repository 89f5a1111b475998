"""The core must import and work without Qt (the headless contract napari keeps)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import ovcf_viewer.core


def test_core_modules_import_with_qt_blocked():
    core_dir = Path(ovcf_viewer.core.__file__).parent
    names = sorted(p.stem for p in core_dir.glob("*.py") if p.stem != "__init__")
    assert names, "no core modules found"
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
            importlib.import_module('ovcf_viewer.core.' + name)
        print('ok', len({names!r}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
