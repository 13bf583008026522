"""The weights layer: one backbone registry (``registry``; specs in ``spec``), transforms on
``torchvision.transforms.v2`` (``transforms``), checkpoint loading with sha256 checks
(``checkpoints``), official-file converters (``convert``), where public weights come from (``hub``),
and the sources that describe backbones (``sources``).
"""
