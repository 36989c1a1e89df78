"""GAN upscaling (Real-ESRGAN's RRDBNet, weights from the model store) with the studio upscaler as the fallback."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from ..upscale import guided_upsample, upscale

# Real-ESRGAN's residual scalings (Wang et al. 2018/2021): dense-block and RRDB outputs are damped by 0.2.
RESIDUAL_SCALE = 0.2
LEAKY_SLOPE = 0.2


class _DenseBlock(nn.Module):
    def __init__(self, feat: int, grow: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(feat, grow, 3, 1, 1)
        self.conv2 = nn.Conv2d(feat + grow, grow, 3, 1, 1)
        self.conv3 = nn.Conv2d(feat + 2 * grow, grow, 3, 1, 1)
        self.conv4 = nn.Conv2d(feat + 3 * grow, grow, 3, 1, 1)
        self.conv5 = nn.Conv2d(feat + 4 * grow, feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.leaky_relu(self.conv1(x), LEAKY_SLOPE)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), LEAKY_SLOPE)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), LEAKY_SLOPE)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), LEAKY_SLOPE)
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * RESIDUAL_SCALE + x


class _RRDB(nn.Module):
    def __init__(self, feat: int, grow: int) -> None:
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = _DenseBlock(feat, grow), _DenseBlock(feat, grow), _DenseBlock(feat, grow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * RESIDUAL_SCALE + x


class RRDBNet(nn.Module):
    """Real-ESRGAN x4 generator, with basicsr's parameter names so its released .pth files load as they are."""

    def __init__(self, *, num_feat: int = 64, num_block: int = 23, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(_RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), LEAKY_SLOPE)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), LEAKY_SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), LEAKY_SLOPE))

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> RRDBNet:
        """The architecture read off the weights (block count, widths), then the weights loaded strictly."""
        for wrapper in ("params_ema", "params"):
            if wrapper in state and isinstance(state[wrapper], dict):
                state = state[wrapper]
        blocks = {int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k))}
        net = cls(num_feat=state["conv_first.weight"].shape[0], num_block=len(blocks),
                  num_grow_ch=state["body.0.rdb1.conv1.weight"].shape[0])
        net.load_state_dict(state, strict=True)
        return net


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return load_file(str(path))
    return torch.load(str(path), map_location="cpu", weights_only=True)


@dataclass(frozen=True)
class Enlarged:
    rgb: np.ndarray
    matte: np.ndarray | None
    params: dict[str, Any]


class Upscaler:
    """x4 GAN super-resolution when a Real-ESRGAN model is given, else the studio upscaler (inference/upscale.py)."""

    def __init__(self, net: RRDBNet | None = None, *, name: str = "studio", device: str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        self.net = None if net is None else net.to(device=device, dtype=dtype).eval()
        self.name = name
        self.device = device
        self.dtype = dtype

    def enlarge(self, rgb: np.ndarray, size: tuple[int, int], matte: np.ndarray | None = None) -> Enlarged:
        started = time.perf_counter()
        if self.net is None or (rgb.shape[1] >= size[0] and rgb.shape[0] >= size[1]):
            result = upscale(rgb, size, matte)
            return Enlarged(result.rgb, result.matte, {**result.params, "upscaler": "studio"})
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(self.device, self.dtype) / 255.0
            y = self.net(x).clamp_(0.0, 1.0)[0].permute(1, 2, 0).float().cpu().numpy()
        big = np.round(y * 255.0).astype(np.uint8)
        # x4 lands near the target; the last step to the exact size is a small resize (down with area averaging).
        shrinking = big.shape[1] >= size[0]
        out = cv2.resize(big, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
        out_matte = None
        if matte is not None:
            guide_low = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # guided_upsample takes 0..255 guides
            guide_high = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
            out_matte = guided_upsample(matte.astype(np.float32), guide_low, guide_high)
        return Enlarged(out, out_matte, {"upscaler": self.name, "method": "Real-ESRGAN RRDBNet x4 + resize",
                                         "ms": round(1000 * (time.perf_counter() - started), 1)})
