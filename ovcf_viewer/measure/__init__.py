"""Pure measurement maths over the models: geometry, vertebral heights, ratios, Genant
grade and kyphosis (:mod:`.measurements`), pre/post/follow-up comparison (:mod:`.comparison`),
training-attempt scoring (:mod:`.scoring`), edge assist and landmark placement.

May import :mod:`ovcf_viewer.model` and :mod:`ovcf_viewer.util`; never ``io`` or ``render``
(its siblings), so no file is read here.
"""
