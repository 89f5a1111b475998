"""The guarded reader for input files, as the ``io`` layer uses it.

It is implemented in :mod:`ovcf_viewer.util.safe_read` so that the model's own document
readers (annotations, cases, findings, rules, settings), which sit below ``io``, use the very
same checks; this module is its public face for ``io`` and above.
"""

from ovcf_viewer.util.safe_read import (  # noqa: F401 - re-exported
    MAX_INPUT_BYTES,
    MAX_JSON_DEPTH,
    InputFileError,
    __all__,  # noqa: F401
    describe_type,
    expect,
    expect_number,
    json_depth,
    read_bytes,
    read_json,
    read_text,
    read_toml,
    require_regular_file,
)
