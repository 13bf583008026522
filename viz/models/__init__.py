"""Architectures only: the zoo network (``zoo``), attention ResNets (``resnet_attention``), the Lite0
trunk (``lite0``).
"""
