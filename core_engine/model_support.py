"""Which models the paged attention computes correctly; the rest are refused at load.

Two checks run after the weights are loaded and before the KV pool is sized:

1. The config: fields that ask the attention for something it does not implement (score
   soft-capping, chunked local attention, latent attention with K/V of different head sizes, layer
   kinds other than full and sliding-window attention) are refused with the field named.
2. A probe forward pass of two tokens with an ``AttentionProbe`` in place of the paged batch: every
   layer must call the attention exactly once, causally, with K/V shapes that fit the KV pool's
   layout and without keyword arguments the attention ignores (``softcap``, ``s_aux`` sinks). The
   probe also records each layer's sliding window, which the attention then applies.
"""

from __future__ import annotations

from typing import Any

import torch

from .attention import AttentionCall, AttentionProbe
from .kv_cache import KVLayout

_INSTEAD = ("serve this model with an engine that implements it (vLLM or SGLang, through the reasoning-plugins "
            "adapters), or use transformers' own generate()")

# config field -> what a non-empty value asks the attention for
_UNSUPPORTED_FIELDS = {
    "attn_logit_softcapping": "tanh soft-capping of attention scores",
    "attention_chunk_size": "chunked local attention",
    "kv_lora_rank": "multi-head latent attention (keys and values of different head sizes)",
}
SUPPORTED_LAYER_TYPES = ("full_attention", "sliding_attention")


class UnsupportedModelError(ValueError):
    """The model needs an attention feature the paged attention does not compute."""


def check_config(config: Any) -> None:
    """Refuse config fields the paged attention would silently ignore."""
    text = getattr(config, "get_text_config", lambda: config)()
    kind = getattr(text, "model_type", type(text).__name__)
    for field, what in _UNSUPPORTED_FIELDS.items():
        value = getattr(text, field, None)
        if value not in (None, 0, False):
            raise UnsupportedModelError(f"{kind}: config field {field}={value!r} asks for {what}, which core_engine's "
                                        f"paged attention does not compute; {_INSTEAD}")
    heads = text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    v_head_dim = getattr(text, "v_head_dim", None)
    if v_head_dim not in (None, head_dim):
        raise UnsupportedModelError(f"{kind}: config field v_head_dim={v_head_dim} differs from head_dim={head_dim}; "
                                    f"the KV pool stores keys and values of one head size; {_INSTEAD}")
    layer_types = getattr(text, "layer_types", None) or ()
    other = sorted({str(t) for t in layer_types} - set(SUPPORTED_LAYER_TYPES))
    if other:
        raise UnsupportedModelError(f"{kind}: config field layer_types has {', '.join(map(repr, other))}; core_engine "
                                    f"computes only {' and '.join(map(repr, SUPPORTED_LAYER_TYPES))} layers; "
                                    f"{_INSTEAD}")


def probe_attention(model: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> tuple[int, ...]:
    """Run the probe pass; return the distinct sliding windows the layers use (empty: none)."""
    config = model.config
    text = config.get_text_config()
    kind = getattr(text, "model_type", type(text).__name__)
    layout = KVLayout.from_config(config, dtype)
    probe = AttentionProbe([])
    try:
        with torch.inference_mode():
            model(input_ids=torch.zeros((1, 2), dtype=torch.long, device=device),
                  position_ids=torch.arange(2, device=device)[None, :],
                  attention_mask=torch.zeros((1, 1, 1, 1), dtype=dtype, device=device),
                  use_cache=False, logits_to_keep=1, paged_batch=probe)
    except Exception as exc:  # noqa: BLE001 - any failure means the model cannot run this way
        raise UnsupportedModelError(f"{kind}: a probe forward pass with core_engine's paged attention failed "
                                    f"({type(exc).__name__}: {exc}); {_INSTEAD}") from exc
    by_layer: dict[int | None, list[AttentionCall]] = {}
    for call in probe.calls:
        by_layer.setdefault(call.layer_idx, []).append(call)
    expected = set(range(layout.num_layers))
    if not probe.calls:
        raise UnsupportedModelError(f"{kind}: no layer calls transformers' AttentionInterface (the model computes "
                                    f"attention in its own code, e.g. with ALiBi biases), so core_engine cannot page "
                                    f"its keys and values; {_INSTEAD}")
    if set(by_layer) != expected or any(len(calls) != 1 for calls in by_layer.values()):
        missing = sorted(expected - {k for k in by_layer if k is not None})
        detail = (f"layers {missing} never call the attention (state-space or linear-attention layers)" if missing
                  else "some layers call the attention more than once or without a layer index")
        raise UnsupportedModelError(f"{kind}: {detail}; core_engine keeps a KV cache for exactly one attention call per "
                                    f"layer (config field num_hidden_layers={layout.num_layers}); {_INSTEAD}")
    windows: set[int] = set()
    for call in probe.calls:
        for name, what in call.unsupported.items():
            raise UnsupportedModelError(f"{kind}: layer {call.layer_idx} passes {name}= to the attention, asking for "
                                        f"{what}, which core_engine's paged attention does not compute; {_INSTEAD}")
        if call.is_causal is False:
            raise UnsupportedModelError(f"{kind}: layer {call.layer_idx} is bidirectional (is_causal=False; config "
                                        f"field use_bidirectional_attention); core_engine computes causal attention "
                                        f"only; {_INSTEAD}")
        kv_heads, head_dim = call.key_shape[1], call.key_shape[3]
        if call.value_shape[3] != head_dim or call.query_shape[3] != head_dim:
            raise UnsupportedModelError(f"{kind}: query/key/value head sizes {call.query_shape[3]}/{head_dim}/"
                                        f"{call.value_shape[3]} differ (config fields qk_head_dim, v_head_dim); the "
                                        f"KV pool stores keys and values of one head size; {_INSTEAD}")
        if (kv_heads, head_dim) != (layout.num_kv_heads, layout.head_dim):
            raise UnsupportedModelError(f"{kind}: layer {call.layer_idx} has {kv_heads} KV heads of size {head_dim}, "
                                        f"but config fields num_key_value_heads/head_dim say {layout.num_kv_heads} of "
                                        f"size {layout.head_dim}; {_INSTEAD}")
        if call.sliding_window is not None:
            if not isinstance(call.sliding_window, int) or call.sliding_window < 1:
                raise UnsupportedModelError(f"{kind}: layer {call.layer_idx} has sliding_window="
                                            f"{call.sliding_window!r}, expected a positive integer or None")
            windows.add(call.sliding_window)
    return tuple(sorted(windows))
