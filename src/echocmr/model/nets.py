"""Video networks: torchvision's R(2+1)D / R3D / MC3-18 and narrower, shallower nets of the same
family for CPU runs (same blocks and stems, fewer channels/blocks), behind one wrapper.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models import video as tvv
from torchvision.models.video.resnet import (
    BasicBlock,
    Conv2Plus1D,
    Conv3DNoTemporal,
    Conv3DSimple,
    VideoResNet,
)

ARCHS = ("r2plus1d_18", "r3d_18", "mc3_18")
PAPER_LAYERS = [2, 2, 2, 2]
PAPER_WIDTH = 64


def _conv_makers(arch: str):
    return {"r2plus1d_18": [Conv2Plus1D] * 4, "r3d_18": [Conv3DSimple] * 4,
            "mc3_18": [Conv3DSimple] + [Conv3DNoTemporal] * 3}[arch]


def _stem(arch: str, width: int) -> nn.Sequential:
    """The family's stem at `width` output channels (torchvision's stems hard-code 64)."""
    if arch == "r2plus1d_18":
        mid = (width * 45) // 64  # torchvision's 45 mid channels at width 64
        return nn.Sequential(
            nn.Conv3d(3, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
            nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
            nn.Conv3d(mid, width, (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False),
            nn.BatchNorm3d(width), nn.ReLU(inplace=True))
    return nn.Sequential(nn.Conv3d(3, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                         nn.BatchNorm3d(width), nn.ReLU(inplace=True))


class SlimVideoResNet(VideoResNet):
    """torchvision's VideoResNet with a base width and blocks per stage of your choice."""

    def __init__(self, arch: str, layers: list[int], width: int, num_classes: int):
        nn.Module.__init__(self)
        makers = _conv_makers(arch)
        self.inplanes = width
        self.stem = _stem(arch, width)
        self.layer1 = self._make_layer(BasicBlock, makers[0], width, layers[0], stride=1)
        self.layer2 = self._make_layer(BasicBlock, makers[1], 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, makers[2], 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, makers[3], 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(8 * width, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)


def backbone(arch: str, n_outputs: int, layers=None, width: int = PAPER_WIDTH) -> VideoResNet:
    """torchvision's own builder for the paper net (no download: weights=None), else a slim one."""
    if arch not in ARCHS:
        raise ValueError(f"model.arch={arch!r}: use one of {', '.join(ARCHS)}")
    layers = list(layers or PAPER_LAYERS)
    if layers == PAPER_LAYERS and width == PAPER_WIDTH:
        return getattr(tvv, arch)(weights=None, num_classes=n_outputs)
    return SlimVideoResNet(arch, layers, width, n_outputs)


class EchoNet(nn.Module):
    """Grey clip (B, 1, T, H, W) in [0, 1] -> one logit/value per task (B, n_tasks)."""

    def __init__(self, net: VideoResNet):
        super().__init__()
        self.net = net
        self.channels_last = False  # set on CUDA: channels_last_3d convolutions are faster

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(-1, 3, -1, -1, -1)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.net(x)


def build_model(arch: str, n_outputs: int, layers=None, width: int = PAPER_WIDTH,
                weights: str | None = None) -> EchoNet:
    """The model; `weights` optionally points to a local state dict (never downloaded).

    A state dict with a different head (e.g. Kinetics-400) loads everything but `fc`.
    """
    model = EchoNet(backbone(arch, n_outputs, layers, width))
    if weights:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"model.weights={weights} does not exist: fix the path or "
                                    "set it to null to train from scratch")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        state = {k.removeprefix("net."): v for k, v in state.items() if not k.startswith("fc.")
                 and not k.startswith("net.fc.")}
        missing, unexpected = model.net.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"fc.weight", "fc.bias"}:
            raise ValueError(f"model.weights={weights} does not fit model.arch={arch}: "
                             f"{len(missing)} missing, {len(unexpected)} unexpected tensors")
    return model
