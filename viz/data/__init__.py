"""The data layer: upload validation (``uploads``), the sample images (``samples``), the real-object
scene generator (``scenes`` and its table ``scene_table.json``). Imports only :mod:`viz.errors`.
"""
