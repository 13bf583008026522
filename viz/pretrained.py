"""Public pretrained backbones (timm, torchvision) and official-checkpoint converters."""
