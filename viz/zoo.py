"""The offline zoo: attention modules on a frozen ImageNet EfficientNet-Lite0 trunk (see viz.train)."""
