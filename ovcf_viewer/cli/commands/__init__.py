"""Headless subcommands of ``ovcf-viewer``; each module has ``NAME``, ``HELP``,
``configure(parser)`` and ``run(args) -> int``. They parse arguments, call a service or a
lower layer and print; they never import Qt."""

#: Modules under this package, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "measure",
    "info",
    "export_png",
    "export_csv",
    "compare",
    "suitability",
    "score",
    "report",
    "export_sr",
    "import_sr",
    "pacs",
)
