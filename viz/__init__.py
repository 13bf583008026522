"""Visual Attention Explorer: attention modules, capture, statistics, backbones and figures."""
