"""The analysis layer: a backbone run on an image -> :class:`~viz.analysis.forward.Analysis`
(numpy, ``forward``); the numpy statistics every layer above shares (``numpy_stats``); GCNet's
Table-1 statistics (``table1``), over a folder of images (``folder``, for ``python -m viz stats``)
and in torch over training batches (``training_stats``); DNL's split (``dnl``); the pinned queries'
statistics (``pins``); attribution; the papers' numbers (``paper``).
"""
