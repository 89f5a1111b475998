"""The sections of the report, one mixin class each over :class:`.base._BuilderBase`;
:class:`ovcf_viewer.report.builder._Builder` combines them in document order."""
