"""Sources that *describe* backbones: each has ``specs() -> list[BackboneSpec]`` and does nothing at
import. ``zoo`` (shipped in ``weights/``), ``timm`` and ``torchvision`` (public ImageNet weights
through the libraries' own caches), ``official`` (converters for files downloaded by hand).
"""
