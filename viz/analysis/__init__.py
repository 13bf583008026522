"""The analysis layer: a backbone run on an image -> :class:`~viz.analysis.run.Analysis` (numpy);
GCNet's Table-1 statistics (``stats``, batched for training in ``batched``); DNL's split; the batch
statistics over a folder; attribution; the papers' numbers (``paper``).
"""
