"""``ovcf-viewer export-png FILE -o OUT.png [--window C W] [--invert] [--frame N]
[--no-pixel-aspect]``.

Renders the whole image as the viewer displays it: the default window (the first DICOM
window, else the first VOI LUT, else auto from the histogram), MONOCHROME1 and Presentation
LUT Shape applied, through the same :func:`ovcf_viewer.render.display.render` the viewer uses,
and, like the viewer, in physical proportions: non-square pixels (``pixel_aspect = row_mm /
col_mm`` from Pixel Spacing / Imager Pixel Spacing, else Pixel Aspect Ratio,
:func:`ovcf_viewer.render.display.pixel_aspect`) are resampled so the PNG keeps the image's
column count and has ``round(rows × pixel_aspect)`` rows (Lanczos filter), i.e. every PNG pixel
is ``col_mm`` wide and high. ``--no-pixel-aspect`` writes the stored pixel grid instead.
Writes an 8-bit greyscale (or RGB) PNG atomically. Exit 2 on bad input, 1 if writing fails.
"""

from __future__ import annotations

import argparse
import io
import sys

from ovcf_viewer.model.errors import ImageLoadError

NAME = "export-png"
HELP = "render an image as the viewer displays it and save it as PNG"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="DICOM, PNG, JPEG or TIFF file")
    parser.add_argument("-o", "--output", required=True, help="PNG file to write")
    parser.add_argument(
        "--window", nargs=2, type=float, metavar=("C", "W"),
        help="window center and width in modality units (LINEAR, PS3.3 C.11.2.1.2)",
    )
    parser.add_argument("--invert", action="store_true", help="invert the display")
    parser.add_argument("--frame", type=int, default=0, help="frame index, 0-based (default 0)")
    parser.add_argument(
        "--pixel-aspect", action=argparse.BooleanOptionalAction, default=True,
        help="resample rows so non-square pixels keep the film's physical proportions, as "
             "the viewer shows them (row_mm/col_mm from the pixel spacing, else Pixel Aspect "
             "Ratio; the column count is kept); --no-pixel-aspect writes one PNG pixel per "
             "stored pixel (default: on)",
    )


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.model.image import VoiWindow
    from ovcf_viewer.render.display import DisplayVoi, default_window, pixel_aspect, render
    from ovcf_viewer.util.atomic import atomic_write_bytes

    try:
        image = load_image(args.file, frame=args.frame)
    except ImageLoadError as exc:
        print(f"ovcf-viewer export-png: {exc}", file=sys.stderr)
        return 2
    window: DisplayVoi
    if args.window is not None:
        center, width = args.window
        if not width >= 1:
            print("ovcf-viewer export-png: window width must be at least 1", file=sys.stderr)
            return 2
        window = VoiWindow(center, width, "LINEAR", "command line")
    else:
        window = default_window(image)
    pixels = render(image, window, invert=args.invert)
    picture = Image.fromarray(pixels)  # uint8 2-D -> L, 3-D -> RGB
    if args.pixel_aspect:
        # Rows are pixel_aspect column widths high on screen; keep the columns, resample rows.
        rows = max(1, round(image.rows * pixel_aspect(image)))
        if rows != image.rows:
            picture = picture.resize((image.columns, rows), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    try:
        atomic_write_bytes(args.output, buffer.getvalue())
    except OSError as exc:
        print(f"ovcf-viewer export-png: cannot write {args.output} ({exc.strerror or exc})",
              file=sys.stderr)
        return 1
    return 0
