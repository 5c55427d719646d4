"""Structure + learned texture: what the GAN, VAE and supervised painters share.

Why this design (see docs/painters.md): the papers' action → deconvolution decoders
must *learn* that a stroke is a curve, which takes GPU-days; on a 2-core CPU they stayed blurry
blobs (fidelity ratio 5–7 after 450 s). Here the geometry comes for free: a frozen copy of the
structured painter (the bundled default) rasterises the expected stroke, and a small U-Net adds
a residual to its alpha in logit space. The U-Net sees the structured alpha, optional noise
planes (the GAN's noise, the VAE's latent) and the action (FiLM), so all it has to learn is the
brush's texture and the corrections to the mean stroke.

Two details matter for realism:

* The residual is gated by the structured stroke's support, dilated by a few pixels: outside it
  the alpha is exactly 0, as a real stroke's background is (a GAN prototype without the gate
  left a faint grey haze over the whole tile, an easy tell).
* Alpha below half a grey level is set to 0 (``(α − ε) / (1 − ε)`` clamped at 0): real strokes
  are 8-bit, so their gaps inside the stroke are exact zeros too.

Colour comes from the action, RGBA = (r, g, b, α): the real brush paints exactly that colour.

Sampling API: ``painter(actions)`` draws a sample (fresh noise per call, from
``generator=`` when given); ``painter(actions, sample=False)`` is the deterministic best
estimate (noise / latent at 0); ``painter(actions, noise=n)`` draws with given noise, which is
how gradient painting keeps each stroke's texture fixed while it optimises
(:meth:`TexturedPainter.sample_noise` draws it once).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from painters.bundled import bundled_weights_path
from painters.models.base import NeuralPainter
from painters.models.structured import StructuredPainter

#: Alpha below this (half an 8-bit grey level) is drawn as exactly 0.
ALPHA_EPS = 0.5 / 255
#: The gate ramps from 0 to 1 as the (dilated) structured alpha goes from the first to the
#: second value: exactly 0 well outside the stroke, 1 wherever it has visible ink.
SUPPORT_RAMP = (0.005, 0.03)
#: The dab cloud's starting weights (see :meth:`StructuredPainter.cloud_alpha`): spread
#: softplus(−2.5 + 2.5·size + 0.4·pressure) brush radii (thin strokes stay close to the path,
#: big ones spread about one radius), width sigmoid(3 − 3.5·size) of the path dab's (big strokes
#: are drawn with dabs about a third as wide), a Gaussian profile (power 1 + softplus(0.54) ≈ 2)
#: and the path dab's ink. Chosen by measurement: a start with the same spread at every size drew
#: thin strokes too wide (fidelity ratio 1.3).
CLOUD_INIT = (-2.5, 2.5, 0.4, 3.0, -3.5, 0.0, 0.54, 0.0, 0.54)


def structure_weights(name: str) -> dict[str, torch.Tensor] | None:
    """Weights of the bundled structured painter ``name`` (None when it is not installed)."""
    path = bundled_weights_path(name)
    return load_file(str(path)) if path.is_file() else None


def _inv_softplus(y: float) -> float:
    return float(y + math.log(-math.expm1(-y)))


def _unit_energy(kernel: torch.Tensor) -> torch.Tensor:
    """``kernel`` scaled to unit sum of squares: filtered unit-variance white noise stays
    unit-variance."""
    return kernel / kernel.square().sum().sqrt().clamp(min=1e-6)


def grain_conv(noise: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``noise`` (B, 1, H, W) filtered by the 5×5 ``kernel`` (1, 1, 5, 5), zero padded.

    As a grouped convolution over the batch (each stroke a channel): the same numbers as a
    plain one-channel convolution, which oneDNN runs ~20× slower on a CPU (34 ms against
    1.6 ms at batch 256 on one thread), a fifth of the GAN's drawing time."""
    b, _, h, w = noise.shape
    out = F.conv2d(noise.reshape(1, b, h, w), kernel.expand(b, 1, 5, 5), padding=2, groups=b)
    return out.view(b, 1, h, w)


def laplacian(alpha: torch.Tensor) -> torch.Tensor:
    """5-point Laplacian of (B, 1, H, W) maps, zero padded (the texture statistic)."""
    k = alpha.new_tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    return F.conv2d(alpha, k, padding=1)


def highpass(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha minus its 3×3 mean (zero padded): the grain at 2–3 px periods."""
    return alpha - F.avg_pool2d(alpha, 3, 1, 1)


class TextureNet(nn.Module):
    """Small U-Net that maps input planes (B, C, H, W) + action to a logit residual (B, 1, H, W).

    Cheap on a CPU by design: it works on 2×2 pixel blocks (PixelUnshuffle, so every pixel keeps
    its own value but convolutions run at H/2 with more channels, which CPUs do faster), goes
    down to H/8, has no normalisation layers, joins skips by addition, and takes the action by
    FiLM at the top and bottom levels. The output layer starts at 0, so a fresh painter draws
    exactly the structured stroke.
    """

    def __init__(
        self, in_channels: int, widths: tuple[int, int, int] = (24, 32, 48), out_channels: int = 1
    ) -> None:
        super().__init__()
        c0, c1, c2 = widths
        self.widths = (c0, c1, c2)
        self.inc = nn.Conv2d(4 * in_channels, c0, 3, padding=1)
        self.down1 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.mid1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.down2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.mid2 = nn.Conv2d(c2, c2, 3, padding=1)
        self.up2 = nn.Conv2d(c2, c1, 1)
        self.dec1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.up1 = nn.Conv2d(c1, c0, 1)
        self.dec0 = nn.Conv2d(c0, c0, 3, padding=1)
        self.out = nn.Conv2d(c0, 4 * out_channels, 1)
        self.film = nn.Linear(12, 2 * c0 + 2 * c2)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        c0, _, c2 = self.widths
        f = self.film(actions)[:, :, None, None]
        s0, b0, s2, b2 = f.split([c0, c0, c2, c2], 1)
        act = F.leaky_relu
        # channels-last: what oneDNN's CPU convolutions run fastest on (measured ~1.5×)
        x = F.pixel_unshuffle(x, 2).contiguous(memory_format=torch.channels_last)
        e0 = act(torch.addcmul(b0, self.inc(x), 1 + s0), 0.2)
        e1 = act(self.mid1(act(self.down1(e0), 0.2)), 0.2)
        e2 = act(self.down2(e1), 0.2)
        e2 = act(torch.addcmul(b2, self.mid2(e2), 1 + s2), 0.2)
        d1 = act(self.dec1(e1 + F.interpolate(self.up2(e2), scale_factor=2.0)), 0.2)
        d0 = act(self.dec0(e0 + F.interpolate(self.up1(d1), scale_factor=2.0)), 0.2)
        return F.pixel_shuffle(self.out(d0), 2)


class TexturedPainter(NeuralPainter):
    """Frozen structured painter + gated logit residual from a :class:`TextureNet`.

    Subclasses set ``kind``, ``stochastic`` and the noise shape, and add their training loss.

    Args:
        size: stroke side in px (64: the structured painter's).
        widths: channels of the U-Net at 1/2, 1/4 and 1/8 of ``size``.
        noise_channels: noise (or latent) planes fed to the U-Net; 0 for a deterministic painter.
        noise_size: side of the noise planes (upsampled to ``size`` by repetition).
        dilation: px by which the structured stroke's support is grown to gate the residual.
        structure: config of the structured painter (default: the bundled default's).
        structure_init: bundled structured painter whose weights start the structure (its
            weights are saved with this painter's, so a checkpoint is self-contained).
        modulation: > 0 adds an explicit texture path: the first noise plane, blurred into
            blobs of the brush's grain size, times a learned amplitude map (starting at this
            value, in logits). It gives a GAN texture from its first step instead of after the
            many steps a U-Net needs to learn to shape white noise.
        temperature: scale of the noise when drawing (BigGAN's truncation trick in spirit):
            below 1 trades texture for fidelity. Chosen after training on held-out strokes;
            training uses whatever the config says (1.0 by default).
        dab_scatter: None, or the initial logit of the dab scatter: the structure's dabs move
            off the path by noise × softplus(w0 + w1·size + w2·pressure) × the brush radius
            (w learned, starting at (this, 0, 0)), as the dry brush scatters its dabs; the
            structure's per-dab network then trains too (the dabs' width and ink). Big strokes
            become clumps of dabs instead of a smooth mean blob. Needs ≥ 2 noise channels.
        dab_cloud: 0, or with ``dab_scatter`` the number M of small dabs each of the
            structure's dabs is drawn as (:meth:`StructuredPainter.cloud_alpha`: each moved
            off the path by its own noise, narrower than the path dab, with a learned profile),
            as the dry brush draws a big stroke: a clump of many small round dabs, not a few
            wide ones. Its nine weights (``cloud``, starting at :data:`CLOUD_INIT`) replace the
            scatter's, which stay unused. Needs ``noise_size`` ≥ 2M and ≥ the dab count.
        learn_grain: with ``modulation``, the 5×5 filter that turns the noise into grain
            (a fixed Gaussian of σ 1.2 px otherwise) is learned, so the grain's scale can
            become the brush's (a Gaussian this wide has almost no power at 2-3 px periods).
    """

    stochastic: ClassVar[bool] = False

    def __init__(
        self,
        size: int = 64,
        widths: tuple[int, int, int] | list[int] = (16, 24, 32),
        noise_channels: int = 0,
        noise_size: int = 64,
        dilation: int = 3,
        structure: dict[str, Any] | None = None,
        structure_init: str | None = "default",
        modulation: float = 0.0,
        temperature: float = 1.0,
        dab_scatter: float | None = None,
        learn_grain: bool = False,
        dab_cloud: int = 0,
        **extra: Any,
    ) -> None:
        widths = tuple(int(w) for w in widths)
        if len(widths) != 3 or min(widths) < 1:
            raise ValueError(f"widths must be three positive channel counts, got {widths}")
        if size % 8 or size < 16:
            raise ValueError(f"size must be a multiple of 8 (≥ 16), got {size}")
        if noise_channels > 0 and (size % noise_size or noise_size < 1):
            raise ValueError(f"noise_size must divide size={size}, got {noise_size}")
        super().__init__(
            size=size,
            widths=list(widths),
            noise_channels=noise_channels,
            noise_size=noise_size,
            dilation=dilation,
            structure=structure,
            structure_init=structure_init,
            modulation=modulation,
            temperature=temperature,
            dab_scatter=dab_scatter,
            learn_grain=learn_grain,
            dab_cloud=dab_cloud,
            **extra,
        )
        self.size, self.noise_channels, self.noise_size = size, noise_channels, noise_size
        self.dilation = int(dilation)
        self.modulation = float(modulation)
        self.temperature = float(temperature)
        if self.modulation > 0 and noise_channels < 1:
            raise ValueError("modulation needs noise: set noise_channels ≥ 1")
        if dab_scatter is not None and (noise_channels < 2 or noise_size < 32):
            raise ValueError("dab_scatter needs noise_channels ≥ 2 and noise_size ≥ 32")
        # fixed 5×5 Gaussian (σ 1.2 px) that turns white noise into blobs of the brush's grain
        k = torch.exp(-((torch.arange(5.0) - 2) ** 2) / (2 * 1.2**2))
        k2 = k[:, None] * k[None, :]
        blur = _unit_energy(k2).view(1, 1, 5, 5)
        # learn_grain: the 5×5 filter becomes a weight (saved with the painter) that training
        # shapes to the brush's grain, still normalised to unit energy when drawing
        self.grain = nn.Parameter(blur.clone()) if learn_grain else None
        self.register_buffer("blur", blur, False)
        self.structure = StructuredPainter(**{**(structure or {}), "size": size})
        if structure_init:
            weights = structure_weights(structure_init)
            if weights is not None:
                self.structure.load_state_dict(weights)
        self.structure.requires_grad_(False)
        self.scatter: nn.Parameter | None = None
        if dab_scatter is not None:
            self.scatter = nn.Parameter(torch.tensor([float(dab_scatter), 0.0, 0.0]))
            self.structure.dab_mlp.requires_grad_(True)
        self.dab_cloud = int(dab_cloud)
        self.cloud: nn.Parameter | None = None
        if self.dab_cloud > 0:
            if self.scatter is None:
                raise ValueError("dab_cloud needs dab_scatter")
            k = self.structure.dabs
            if noise_size < k or 2 * self.dab_cloud > noise_size:
                raise ValueError(f"dab_cloud={dab_cloud} needs noise_size ≥ max({k}, 2·dab_cloud)")
            self.cloud = nn.Parameter(torch.tensor(CLOUD_INIT))
        self.texture = TextureNet(2 + noise_channels, widths, 2 if self.modulation > 0 else 1)

    # -- what the trainer updates ----------------------------------------------------------
    def trainable_parameters(self) -> list[nn.Parameter]:
        """Everything but the frozen structure (which keeps the geometry it was trained for);
        with ``dab_scatter`` the structure's per-dab network trains too."""
        return [
            p
            for n, p in self.named_parameters()
            if not n.startswith("structure.")
            or (self.scatter is not None and n.startswith("structure.dab_mlp."))
        ]

    def texture_parameters(self) -> list[nn.Parameter]:
        """The texture network and, with ``learn_grain``, the grain filter."""
        return list(self.texture.parameters()) + ([self.grain] if self.grain is not None else [])

    def scatter_parameters(self) -> list[nn.Parameter]:
        """The dab scatter's weights and the structure's per-dab network (empty without
        ``dab_scatter``)."""
        if self.scatter is None:
            return []
        spread = self.scatter if self.cloud is None else self.cloud
        return [spread, *self.structure.dab_mlp.parameters()]

    # -- noise -------------------------------------------------------------------------------
    def sample_noise(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor | None:
        """Noise (n, C, s, s) for ``n`` strokes (None for a deterministic painter). Draw it once
        and pass it as ``noise=`` to keep strokes' texture fixed across calls."""
        if self.noise_channels == 0:
            return None
        if device is None:
            device = generator.device if generator is not None else self.texture.out.weight.device
        shape = (n, self.noise_channels, self.noise_size, self.noise_size)
        return torch.randn(shape, generator=generator, device=device)

    def _noise(
        self,
        actions: torch.Tensor,
        sample: bool,
        generator: torch.Generator | None,
        noise: torch.Tensor | None,
    ) -> torch.Tensor | None:
        if self.noise_channels == 0:
            return None
        b = actions.shape[0]
        if noise is not None:
            shape = (b, self.noise_channels, self.noise_size, self.noise_size)
            if tuple(noise.shape) != shape:
                raise ValueError(f"noise must have shape {shape}, got {tuple(noise.shape)}")
            return noise.to(actions.device, actions.dtype)
        if not sample:
            return actions.new_zeros(b, self.noise_channels, self.noise_size, self.noise_size)
        z = self.sample_noise(b, generator, device=generator.device if generator else None)
        return z.to(actions.device, actions.dtype)  # type: ignore[union-attr]

    # -- drawing -----------------------------------------------------------------------------
    def structure_alpha(
        self, actions: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The structured painter's alpha (B, 1, H, W): the expected stroke's geometry; with
        ``dab_scatter`` and ``noise``, its dabs scattered by the noise's first rows."""
        if self.scatter is None or noise is None:
            return self.structure.alpha(actions)
        k = self.structure.dabs
        if self.cloud is not None:
            m = self.dab_cloud
            # rows 0..M-1 of the first two planes: offsets; rows M..2M-1 of the first: radii
            offsets = noise[:, :2, :m, :k].transpose(-1, -2) * self.temperature
            jitter = noise[:, 0, m : 2 * m, :k].transpose(-1, -2) * self.temperature
            return self.structure.cloud_alpha(actions, offsets, jitter, self.cloud)
        offsets = noise[:, :2, 0, :k] * self.temperature
        return self.structure.alpha(actions, (offsets, self.scatter))

    def gate(self, base: torch.Tensor) -> torch.Tensor:
        """1 on the structured stroke's support grown by ``dilation`` px, fading to 0 outside."""
        d = self.dilation
        lo, hi = SUPPORT_RAMP
        if d <= 0:
            return ((base - lo) * (1.0 / (hi - lo))).clamp(0.0, 1.0)
        # at half resolution (2×2 max first), separable: ~10× cheaper than a 2-D max pool at
        # full size; grows the support by 2·ceil(d/2) to 2·ceil(d/2) + 1 px
        h = (d + 1) // 2
        s = F.max_pool2d(base, 2)
        s = F.max_pool2d(s, (1, 2 * h + 1), stride=1, padding=(0, h))
        s = F.max_pool2d(s, (2 * h + 1, 1), stride=1, padding=(h, 0))
        s = ((s - lo) * (1.0 / (hi - lo))).clamp(0.0, 1.0)
        return s.repeat_interleave(2, -1).repeat_interleave(2, -2)

    def alpha_from(
        self, actions: torch.Tensor, base: torch.Tensor, noise: torch.Tensor | None
    ) -> torch.Tensor:
        """Alpha for structured alpha ``base`` and noise planes (None when deterministic)."""
        planes = [base, base.sqrt()]
        if noise is not None and self.temperature != 1.0:
            noise = noise * self.temperature
        if noise is not None:
            rep = self.size // noise.shape[-1]
            if rep > 1:
                noise = noise.repeat_interleave(rep, -1).repeat_interleave(rep, -2)
            planes.append(noise)
        r = self.texture(torch.cat(planes, 1), actions)
        if self.modulation > 0:
            # explicit texture path: unit-variance blobby noise × a learned amplitude map
            kernel = self.blur if self.grain is None else _unit_energy(self.grain)
            blobs = grain_conv(noise[:, :1], kernel)  # type: ignore[index]
            gain = F.softplus(r[:, 1:2] + _inv_softplus(self.modulation))
            r = r[:, :1] + gain * blobs
        logit = torch.logit(base.clamp(1e-4, 1 - 1e-4))
        a = self.gate(base) * torch.sigmoid(logit + r)
        return ((a - ALPHA_EPS) * (1.0 / (1.0 - ALPHA_EPS))).clamp(min=0.0)

    def alpha(
        self,
        actions: torch.Tensor,
        sample: bool = True,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Alpha (B, 1, H, W): a sample or, with ``sample=False``, the deterministic estimate;
        drawn ``chunk`` strokes at a time."""
        actions = actions.float()
        z = self._noise(actions, sample, generator, noise)
        parts = []
        for i in range(0, actions.shape[0], self.chunk):
            a = actions[i : i + self.chunk]
            zz = None if z is None else z[i : i + self.chunk]
            parts.append(self.alpha_from(a, self.structure_alpha(a, zz), zz))
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    #: Strokes per chunk (keeps the U-Net's activations in cache).
    chunk = 256

    def forward(
        self,
        actions: torch.Tensor,
        sample: bool = True,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """RGBA strokes (B, 4, H, W): a sample (``sample=True``; fresh noise, ``generator``'s
        when given, or ``noise``) or the deterministic best estimate (``sample=False``)."""
        actions = actions.float()
        alpha = self.alpha(actions, sample, generator=generator, noise=noise)
        return self.rgba_from_alpha(actions, alpha)


class PatchCritic(nn.Module):
    """PatchGAN critic on (alpha, its Laplacian, structured alpha): a 16×16 map of scores.

    It judges texture locally (receptive field ~22 px) given the stroke's expected geometry,
    and sees the Laplacian directly because that is where real and smooth strokes differ most.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        from torch.nn.utils.parametrizations import spectral_norm

        c = channels
        self.net = nn.Sequential(
            spectral_norm(nn.Conv2d(3, c, 4, 2, 1)), nn.LeakyReLU(0.2),  # 32
            spectral_norm(nn.Conv2d(c, 2 * c, 4, 2, 1)), nn.LeakyReLU(0.2),  # 16
            spectral_norm(nn.Conv2d(2 * c, 2 * c, 3, 1, 1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * c, 1, 3, 1, 1)),
        )  # fmt: skip

    def forward(self, alpha: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([alpha, 4.0 * laplacian(alpha), base], 1))


class GlobalCritic(nn.Module):
    """Whole-stroke critic on (alpha, its Laplacian, structured alpha): conv features at 1/8 of
    the tile, pooled by mean and max, one score per stroke. It sees statistics of the whole
    stroke (how much of it is faint, its sharpest speckle) that a PatchGAN's local scores miss.
    """

    def __init__(self, channels: int = 16, inputs: int = 3) -> None:
        super().__init__()
        from torch.nn.utils.parametrizations import spectral_norm

        c = channels
        self.net = nn.Sequential(
            spectral_norm(nn.Conv2d(inputs, c, 4, 2, 1)), nn.LeakyReLU(0.2),  # 32
            spectral_norm(nn.Conv2d(c, 2 * c, 3, 2, 1)), nn.LeakyReLU(0.2),  # 16
            spectral_norm(nn.Conv2d(2 * c, 4 * c, 3, 2, 1)), nn.LeakyReLU(0.2),  # 8
        )  # fmt: skip
        self.fc = spectral_norm(nn.Linear(8 * c, 1))

    def planes(self, alpha: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """The critic's input planes: alpha, its Laplacian and the structured alpha."""
        return torch.cat([alpha, 4.0 * laplacian(alpha), base], 1)

    def features(self, alpha: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 8 × channels): mean and max over the tile."""
        h = self.net(self.planes(alpha, base))
        return torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)

    def forward(self, alpha: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(alpha, base))


def alpha_histogram(alpha: torch.Tensor, bins: int = 10) -> torch.Tensor:
    """Differentiable histogram of alpha values over the batch: ``bins`` triangular bins
    centred on (1/bins, 2/bins, ..., 1), as fractions of all pixels (the exact zeros of the
    background fall in none)."""
    centres = torch.linspace(0.0, 1.0, bins + 1, device=alpha.device, dtype=alpha.dtype)[1:]
    x = alpha.reshape(-1, 1)
    w = (1.0 - (x - centres).abs() * bins).clamp(min=0.0)
    return w.sum(0) / x.shape[0]


def radial_spectrum(alpha: torch.Tensor, bins: int = 12) -> torch.Tensor:
    """The batch's mean power spectrum of alpha (each stroke's mean removed), averaged over
    ``bins`` rings of spatial frequency from 0 to the corner (√2 × Nyquist): the grain of
    the texture, scale by scale, as one vector of ``bins`` powers."""
    h, w = alpha.shape[-2:]
    x = alpha - alpha.mean((-2, -1), keepdim=True)
    power = torch.fft.rfft2(x.float()).abs().square().mean(tuple(range(x.dim() - 2)))
    fy = torch.fft.fftfreq(h, device=alpha.device)[:, None]
    fx = torch.fft.rfftfreq(w, device=alpha.device)[None, :]
    ring = ((fy.square() + fx.square()).sqrt() / (0.5 * 2**0.5) * bins).long().clamp(max=bins - 1)
    total = torch.zeros(bins, device=alpha.device).index_add_(0, ring.flatten(), power.flatten())
    count = torch.bincount(ring.flatten(), minlength=bins).clamp(min=1)
    return total / count


def lowpass(alpha: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Average-pooled alpha: the geometry a GAN's texture must not move."""
    return F.avg_pool2d(alpha, factor)


def noise_for_indices(
    painter: torch.nn.Module, indices, device: torch.device | str = "cpu", seed: int = 0
) -> torch.Tensor | None:
    """Noise for strokes numbered ``indices`` (ints): stroke i's noise comes from a generator
    seeded by (seed, i), so whoever numbers strokes reproducibly (the env draws its numbers
    from its ``np_random``; a replay numbers them in order) gets reproducible texture. None for
    deterministic painters."""
    sample = getattr(painter, "sample_noise", None)
    if sample is None or not getattr(painter, "stochastic", False):
        return None
    base = int(seed) * 1_000_003
    parts = [sample(1, torch.Generator().manual_seed((base + int(i)) % 2**63)) for i in indices]
    return torch.cat(parts).to(device)


class FixedNoise(nn.Module):
    """A stochastic painter whose noise is drawn once: the j-th stroke of every call gets the
    same noise (from a generator seeded by ``seed``).

    Why: gradient painting calls the painter on the same strokes, in the same order, at every
    optimisation step; with fresh noise per call each stroke's texture would jump between
    steps and the optimiser would chase noise. Fixed noise keeps every stroke's texture while
    its action moves. Other attributes (``kind``, ``size``, ...) are the painter's.
    """

    stochastic = False

    def __init__(self, painter: nn.Module, seed: int = 0) -> None:
        super().__init__()
        self.painter = painter
        self.seed = int(seed)
        self._bank: torch.Tensor | None = None

    def noise(self, n: int, device: torch.device | str) -> torch.Tensor:
        """Noise for strokes 0..n-1 (grown on demand; earlier strokes keep theirs)."""
        have = 0 if self._bank is None else len(self._bank)
        if have < n:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + have)
            more = self.painter.sample_noise(max(n - have, 64), g)
            self._bank = more if self._bank is None else torch.cat([self._bank, more])
        bank = self._bank[:n]  # type: ignore[index]
        return bank.to(device) if bank.device != torch.device(device) else bank

    def forward(self, actions: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        kwargs.pop("noise", None)
        kwargs.pop("generator", None)
        kwargs.pop("sample", None)
        return self.painter(actions, noise=self.noise(actions.shape[0], actions.device), **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["painter"], name)


def fixed_noise(painter: nn.Module, seed: int = 0) -> nn.Module:
    """``painter`` wrapped in :class:`FixedNoise` if it is stochastic, else ``painter`` itself."""
    if getattr(painter, "stochastic", False) and hasattr(painter, "sample_noise"):
        return FixedNoise(painter, seed)
    return painter
