"""The ``ovcf-viewer`` entry point: the GUI by default, headless subcommands otherwise.

``ovcf-viewer [PATH ...]`` opens the window (on files or folders); ``ovcf-viewer COMMAND ...``
runs one of the subcommands in :mod:`ovcf_viewer.cli.commands`, which never import Qt.
Exit status: 0 success, 1 failure while working, 2 bad input or usage.

The top layer beside :mod:`ovcf_viewer.qt`: may import every lower layer (services first);
imports Qt in one place only, lazily, to start the GUI (the layers contract names that import).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from ovcf_viewer import __version__, system_libraries
from ovcf_viewer.cli.commands import COMMAND_MODULES


def _command_modules() -> dict[str, ModuleType]:
    modules = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"ovcf_viewer.cli.commands.{name}")
        modules[module.NAME] = module
    return modules


def _reader_went_away() -> int:
    """``ovcf-viewer measure … | head``: the reader closed the pipe, which is not an error.
    Point stdout at devnull so the interpreter's final flush does not raise again (the recipe
    of the Python documentation, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def build_parser(modules: dict[str, ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ovcf-viewer",
        description="OVCF Viewer. Without a command, opens the viewer on the given paths.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in modules.items():
        module.configure(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    modules = _command_modules()
    if args_list and (args_list[0] in modules or args_list[0] in ("-h", "--help", "--version")):
        parser = build_parser(modules)
        args = parser.parse_args(args_list)
        if getattr(args, "inputs", None):
            problem = _expand_folder_inputs(args)
            if problem:
                return problem
        try:
            status = int(modules[args.command].run(args))
            sys.stdout.flush()
        except BrokenPipeError:
            return _reader_went_away()
        return status
    gui = argparse.ArgumentParser(prog="ovcf-viewer", description="Open the viewer.")
    gui.add_argument("paths", nargs="*", help="DICOM/PNG/JPEG/TIFF files or folders to open")
    gui.add_argument("--annotations", help="exchange-format annotation file to load")
    gui_args = gui.parse_args(args_list)
    missing = system_libraries.missing_packages()
    if missing:  # one line with the fix, not Qt's platform-plugin abort
        print(system_libraries.advice(missing), file=sys.stderr)
        return 1
    from ovcf_viewer.qt.app import run_gui  # Qt is imported only for the GUI

    return int(run_gui(gui_args.paths, annotations=gui_args.annotations))



def _expand_folder_inputs(args: argparse.Namespace) -> int:
    """A folder among a command's INPUT stands for the annotation files of its films; the
    folder's files not used are listed on stderr. Returns 2 (one line said) for a folder
    without any, else 0."""
    from ovcf_viewer.services.folder_annotations import FolderInputError, expand_folders

    try:
        args.inputs, skipped = expand_folders(args.inputs)
    except FolderInputError as exc:
        print(f"ovcf-viewer {args.command}: {exc}", file=sys.stderr)
        return 2
    for path, why in skipped:
        print(f"ovcf-viewer {args.command}: not used: {path.name}: {why}", file=sys.stderr)
    return 0
