"""One section per film: the figure, its side panel and the measurement tables."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.measure.measurements import (
    DEFORMITY_RATIO,
)
from ovcf_viewer.measure.tolerance import TOLERANCE
from ovcf_viewer.report.figure import (
    _anterior_sign,
    _make_film_figure,
    marker_in_region,
    side_marker_box,
)
from ovcf_viewer.report.formatting import (
    _genant_reference_text,
    format_angle,
    format_length,
    format_ratio,
    genant_text,
    lovbh_text,
    reduction_text,
)
from ovcf_viewer.report.sections.base import _BuilderBase
from ovcf_viewer.report.sections.closing import _cobb_name
from ovcf_viewer.report.source import MISSING, ReportFilm
from ovcf_viewer.report.styles import _FLAG, _RULE, FONT_BOLD, _color, _esc, _keyed, _table

#: The smallest film figure placed in the room left on a page (taller: the figure grows to
#: the room, up to 140 mm; less room: the film starts the next page).
_MIN_FIGURE_MM = 80.0
_NO_PADDING: list[tuple[Any, ...]] = [
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("TOPPADDING", (0, 0), (-1, -1), 0),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
]


class FilmSections(_BuilderBase):
    """One section per film: figure, side panel, measurement tables."""

    # -- films -----------------------------------------------------------------------------
    def film_sections(self) -> None:
        for film in self.source.films:
            self.story.append(self._film_panel(film))
            self.story.extend(self._measurement_tables(film))

    def _film_panel(self, film: ReportFilm) -> Any:
        """The film's heading, figure and side panel as one block sized to the room left on
        the page (:class:`~ovcf_viewer.report.fitted.FittedBlock`): it follows whatever came
        before when at least :data:`_MIN_FIGURE_MM` of figure fits, else starts a page."""
        from reportlab.platypus import Spacer, Table, TableStyle

        from ovcf_viewer.report.fitted import FittedBlock

        title = film.title(deidentify=self.deidentify)
        heading = self.heading(title)
        style = heading.style
        heading_h = heading.wrap(self.width, self.frame_height)[1] + style.spaceAfter
        above = style.spaceBefore
        below = 6.0
        fig_w = self.width * 0.53
        max_fig_h = min(140 * self.mm, self.frame_height - 330)
        marker = side_marker_box(film)  # looked for once, not for every height tried

        def build(height: float) -> Any:
            fig_h = max(10.0, min(max_fig_h, height - above - heading_h - below))
            figure = _make_film_figure(film, fig_w, fig_h, self.settings, marker=marker)
            side = self._film_side_panel(film, figure.height, _orientation_text(figure))
            panel = Table([[figure, side]], colWidths=[self.width * 0.55, self.width * 0.45],
                          hAlign="LEFT")
            panel.setStyle(TableStyle([*_NO_PADDING, ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            block = Table([[Spacer(1, above)], [self.heading(title)],
                           [Spacer(1, style.spaceAfter)],
                           [panel], [Spacer(1, below)]], colWidths=[self.width], hAlign="LEFT")
            block.setStyle(TableStyle(_NO_PADDING))
            return block

        return FittedBlock(build, min_height=above + heading_h + below + _MIN_FIGURE_MM * self.mm,
                           max_height=above + heading_h + below + max_fig_h)

    def _film_side_panel(
        self, film: ReportFilm, figure_height: float, orientation: str = ""
    ) -> list[Any]:
        from reportlab.platypus import Spacer

        out: list[Any] = []
        rows: list[tuple[str, str]] = []
        if film.timepoint is not None:
            rows.append(("Timepoint", film.timepoint.label))
            if not self.deidentify and film.study_date is not None:
                rows.append(("Film date", film.study_date.isoformat()))
        if not self.deidentify and film.file_name:
            rows.append(("File", film.file_name))
        if film.image is not None:
            from ovcf_viewer.model.image import VoiWindow
            from ovcf_viewer.render.display import default_window

            window = default_window(film.image)
            label = getattr(window, "label", None) or "as stored (colour)"
            if self.deidentify and isinstance(window, VoiWindow) and window.explanation:
                # Window Center & Width Explanation is header free text: it can hold a name
                label = f"Window (C {window.center:g} / W {window.width:g})"
            rows.append(("Display", label))
            rows.append(("Image", f"{film.image.columns} × {film.image.rows} px"))
        rows.append(("Lengths in", film.calibration.unit_tag))
        if orientation:
            rows.append(("Orientation", orientation))
        out.append(_table(
            [[self.p(_esc(a), "head"), self.p(_esc(b), "cell")] for a, b in rows],
            [self.width * 0.12, self.width * 0.31], header_rows=0,
            extra=[("LINEABOVE", (0, 0), (-1, 0), 0.25, _color(_RULE)),
                   ("LINEBELOW", (0, -1), (-1, -1), 0.25, _color(_RULE))],
        ))
        out.append(Spacer(1, 4))
        statement = self.calibration_statement(film.calibration, missing=film.is_missing)
        out.append(self.p(_esc(statement), "small"))
        if not film.calibration.is_calibrated:
            out.append(self.p("No calibration: lengths in pixels. Ratios, percentages and "
                              "angles are still valid.", "warning"))
        if film.missing_reason:
            out.append(Spacer(1, 3))
            out.append(self.p(_esc(self.missing_text(film)), "warning"))
        if film.problem:
            out.append(Spacer(1, 3))
            out.append(self.p(_esc(film.problem), "warning"))
        m = film.measurements
        if m is not None and m.index_levels:
            out.append(Spacer(1, 5))
            for level, im in m.index_levels.items():
                vm = m.vertebrae[level]
                lines = [
                    f"<b>{level} (index level)</b>",
                    f"Genant grade {genant_text(vm)}, height reduction "
                    f"{reduction_text(vm)}, reference {_esc(_genant_reference_text(vm))}",
                    f"Segmental kyphosis {format_angle(im.segmental_kyphosis_deg)}"
                    + (f" ({_esc(im.segmental_endplates)})"
                       if im.segmental_kyphosis_deg is not None else " (not measurable: "
                       "needs the vertebrae above and below)"),
                    f"Vertebral wedge angle {format_angle(im.wedge_angle_deg)}",
                    f"LOVBH (Ha vs neighbours) {_esc(lovbh_text(im))}",
                ]
                out.append(self.p("<br/>".join(lines), "body"))
                out.append(Spacer(1, 3))
        for note in m.notes if m is not None else ():
            out.append(self.p(self.t(note), "note"))
        if m is not None and m.index_levels:
            # the close-up takes the room left beside the film figure (never below it)
            width = self.width * 0.43
            used = sum(f.wrap(width, self.frame_height)[1] + f.getSpaceBefore()
                       + f.getSpaceAfter() for f in out)
            level = next(iter(m.index_levels))
            heading = self.p(_esc(f"{level} close-up: the six landmarks"), "h2")
            room = figure_height - used - 6 - heading.wrap(width, 100)[1] - 8
            if room >= 36 * self.mm:
                out.append(Spacer(1, 6))
                out.append(heading)
                out.append(_make_film_figure(film, width, min(room, 68 * self.mm),
                                             self.settings, detail_level=level))
        return out

    def _measurement_tables(self, film: ReportFilm) -> list[Any]:
        from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

        m = film.measurements
        if m is None:
            return [self.p("No measurements on this film.", "body"), Spacer(1, 6)]
        if not m.vertebrae:
            return [self.p("No vertebra on this film has all six landmarks: nothing to "
                           "measure.", "body"), Spacer(1, 6)]
        unit = m.calibration.unit_tag
        head1 = ["Level", f"Heights ({unit})", "", "", "Ratios", "", "", "Wedge angle",
                 "Height reduction", "Genant grade", "Genant reference"]
        head2 = ["", "Ha", "Hm", "Hp", "Ha/Hp", "Hm/Hp", "Hp/Hp ref", "", "", "", ""]
        rows: list[list[Any]] = [
            [self.p(_esc(h), "head_c") if h else "" for h in head1],
            [self.p(_esc(h), "head_c") if h else "" for h in head2],
        ]
        highlight = []
        flagged: list[tuple[int, int]] = []
        for level, vm in m.vertebrae.items():
            if level in m.index_levels:
                highlight.append(len(rows))
            ratios = (vm.wedge_ratio, vm.biconcavity_ratio, vm.crush_ratio)
            for k, value in enumerate(ratios):
                if value is not None and value < DEFORMITY_RATIO - TOLERANCE:
                    flagged.append((4 + k, len(rows)))
            rows.append([
                level + (" *" if level in m.index_levels else ""),
                format_length(vm.anterior_height_mm),
                format_length(vm.middle_height_mm),
                format_length(vm.posterior_height_mm),
                format_ratio(vm.wedge_ratio),
                format_ratio(vm.biconcavity_ratio),
                format_ratio(vm.crush_ratio),
                format_angle(vm.wedge_angle_deg),
                reduction_text(vm),
                genant_text(vm),
                self.p(_esc(_genant_reference_text(vm)), "cell"),
            ])
        spans = [((1, 0), (3, 0)), ((4, 0), (6, 0))] + [
            ((c, 0), (c, 1)) for c in (0, 7, 8, 9, 10)
        ]
        extra: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, 1), FONT_BOLD, 7.2),
            ("VALIGN", (0, 0), (-1, 1), "MIDDLE"),
            ("ALIGN", (9, 2), (10, -1), "LEFT"),
            ("LINEBELOW", (1, 0), (6, 0), 0.25, _color(_RULE)),
        ]
        for col, row in flagged:
            extra.append(("FONT", (col, row), (col, row), FONT_BOLD, 7.8))
            extra.append(("TEXTCOLOR", (col, row), (col, row), _color(_FLAG)))
        table = _table(
            rows, self.cols([0.06, 0.075, 0.075, 0.075, 0.07, 0.07, 0.07, 0.075, 0.12,
                             0.085, 0.225]),
            header_rows=2, spans=spans, highlight_rows=highlight, align_right_from=1,
            extra=extra,
        )
        label = film.timepoint.label if film.timepoint else "Film"
        # the heading with the table's header and first rows; the rows then flow on
        out: list[Any] = [CondPageBreak(100),
                          self.p(_esc(f"Vertebral measurements — {label}"), "h2")]
        # Plausibility warnings beside the numbers they put in doubt (§6a), then the table's
        # key, right under the table's last rows on whichever page they fall; the index-level
        # table, titled, and its note are kept together after them (a page never opens on a
        # note's tail).
        key: list[Any] = [self.p(self.t(f"Warning: {w.message}."), "warning")
                          for w in m.warnings]
        key.append(self.p(_esc(
            f"* index level. Ha, Hm, Hp: anterior, middle, posterior heights in {unit}. "
            f"Ratios below {DEFORMITY_RATIO:.2f} (bold) are deformities on the fixed cut-off "
            f"rule (Siminoski 2006). Hp/Hp ref: posterior height against the mean of the "
            f"placed adjacent vertebrae ({MISSING} without one). Wedge angle between the "
            f"vertebra's own endplates, kyphosis positive."), "note"))
        out.append(_keyed(table, key))
        after: list[Any] = []
        if m.index_levels:
            cobb_def = self.settings.cobb_definition
            head = ["Index level", "Segmental kyphosis", "Endplates",
                    "Vertebral wedge angle", "“Cobb” (setting)", "LOVBH"]
            rows2: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
            for level, im in m.index_levels.items():
                rows2.append([
                    level,
                    format_angle(im.segmental_kyphosis_deg),
                    self.p(_esc(im.segmental_endplates), "cell"),
                    format_angle(im.wedge_angle_deg),
                    format_angle(im.cobb_deg(cobb_def)),
                    self.p(_esc(lovbh_text(im)), "cell"),
                ])
            after.append(Spacer(1, 4))
            after.extend([
                self.p(_esc(f"Index levels — {label}"), "h2"),
                _table(rows2, self.cols([0.11, 0.14, 0.36, 0.14, 0.13, 0.12]),
                       align_right_from=1,
                       extra=[("ALIGN", (2, 1), (2, -1), "LEFT")]),
                self.p(_esc(
                    f"“Cobb” is the {_cobb_name(cobb_def)} (setting). LOVBH = ((A1 + A2) − 2·A0)"
                    f" / (A1 + A2) × 100 %, A0 the index level's Ha, A1/A2 those above and "
                    f"below; it uses Ha only, Genant's height reduction the most reduced of "
                    f"Ha, Hm and Hp (§4, see the summary)."), "note"),
            ])
        if after:
            out.append(KeepTogether(after))
        out.append(Spacer(1, 8))
        return out


def _orientation_text(figure: Any) -> str:
    """How the film lies, stated beside the figure (§2: patients face either way): which side
    is anterior, and whether the film's burned-in side marker is in the figure."""
    film = figure.film
    if figure.region is None:
        return ""
    side = "right" if _anterior_sign(film.annotations) > 0 else "left"
    text = f"anterior to the {side}"
    if film.image is None:
        return text
    if marker_in_region(figure.marker, figure.region):
        return text + "; side marker in the figure"
    if figure.marker is not None:
        return text + "; side marker outside the figure"
    return text + "; no burned-in side marker found"
