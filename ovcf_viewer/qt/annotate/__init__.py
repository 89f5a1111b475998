"""Placing landmarks and tools on a film: scene items (:mod:`.landmark_items`), the
controller joining them to the model (:mod:`.annotation_controller`), the measurements panel
and the undo stack.
"""
