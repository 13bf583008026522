"""The analysis layer: a backbone run on an image -> :class:`~viz.analysis.run.Analysis` (numpy);
the numpy statistics every layer above shares (``numpy_stats``); GCNet's Table-1 statistics
(``stats``, batched for training in ``batched``); DNL's split; the batch statistics over a folder;
attribution; the papers' numbers (``paper``).
"""
