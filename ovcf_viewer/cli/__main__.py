"""``python -m ovcf_viewer.cli``: the same as the ``ovcf-viewer`` command."""

import sys

from ovcf_viewer.cli import main

sys.exit(main())
