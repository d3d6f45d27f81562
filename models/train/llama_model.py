"""Llama / Qwen2 causal LM as a plain PyTorch module with explicit past key/value tensors.

The module tree is Hugging Face's LlamaForCausalLM (transformers >= 4.45) name for name:

    model.embed_tokens                      nn.Embedding(vocab, hidden)
    model.rotary_emb                        LlamaRotaryEmbedding (buffer inv_freq, not a parameter)
    model.layers.{i}.input_layernorm        LlamaRMSNorm
    model.layers.{i}.self_attn.{q,k,v,o}_proj
    model.layers.{i}.post_attention_layernorm
    model.layers.{i}.mlp.{gate,up,down}_proj, model.layers.{i}.mlp.act_fn (nn.SiLU)
    model.norm
    lm_head                                 nn.Linear(hidden, vocab, bias=False), tied to embed_tokens
                                            when config.tie_word_embeddings

so `state_dict()` loads into transformers' LlamaForCausalLM / Qwen2ForCausalLM, and the legacy
(TorchScript) ONNX exporter names nodes as Optimum's exports do: /model/layers.0/self_attn/Softmax,
/model/layers.0/Add (attention residual), /model/layers.0/Add_1 (MLP residual),
/model/norm/..., /lm_head/MatMul.

The forward pass is written as HF's eager path: RMSNorm decomposed (x.pow(2).mean(-1) + eps,
rsqrt, times weight, no mean subtraction), rotary embeddings computed from position_ids
(inv_freq = 1/theta^(2i/d), cos/sin of cat(freqs, freqs), rotate_half), k/v of the
num_key_value_heads heads repeated with repeat_kv before the score MatMul so the Softmax output is
[batch, num_attention_heads, query, past + query], an additive causal + attention_mask mask
(finfo.min), and the SwiGLU MLP down(silu(gate(x)) * up(x)). Qwen2 is the same with bias=True on
q/k/v (config.attention_bias, set from model_type).
"""
import math
from dataclasses import dataclass, asdict
from typing import Optional

import torch
import torch.nn as nn


@dataclass
class LlamaConfig:
    model_type: str = "llama"            # "llama" or "qwen2"
    vocab_size: int = 512
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: Optional[int] = None       # None: hidden_size // num_attention_heads
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 256
    tie_word_embeddings: bool = True
    attention_bias: Optional[bool] = None  # None: True for qwen2 (q/k/v only), False for llama
    bos_token_id: Optional[int] = None
    eos_token_id: Optional[int] = None

    @property
    def hd(self):
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def qkv_bias(self):
        return self.model_type == "qwen2" if self.attention_bias is None else self.attention_bias

    def to_dict(self):
        return asdict(self)


class LlamaRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class LlamaRotaryEmbedding(nn.Module):
    """Default RoPE ("rope_type": "default"): cos/sin from position_ids, attention_scaling 1."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        dim = cfg.hd
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.attention_scaling = 1.0

    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    """[b, kv_heads, s, d] -> [b, kv_heads * n_rep, s, d], each kv head repeated n_rep times in a row
    (query head h reads kv head h // n_rep)."""
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


class LlamaAttention(nn.Module):
    def __init__(self, cfg: LlamaConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.head_dim = cfg.hd
        self.num_heads = cfg.num_attention_heads
        self.num_key_value_heads = cfg.num_key_value_heads
        self.num_key_value_groups = cfg.num_attention_heads // cfg.num_key_value_heads
        self.scaling = self.head_dim ** -0.5
        b = cfg.qkv_bias
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_attention_heads * self.head_dim, bias=b)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * self.head_dim, bias=b)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * self.head_dim, bias=b)
        self.o_proj = nn.Linear(cfg.num_attention_heads * self.head_dim, cfg.hidden_size, bias=False)

    def forward(self, hidden_states, position_embeddings, attention_mask, past_k, past_v, keep=None):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)

        cos, sin = position_embeddings
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)

        # The cache holds the num_key_value_heads heads, after RoPE (HF DynamicCache.update).
        key_states = torch.cat([past_k, key_states], dim=-2)
        value_states = torch.cat([past_v, value_states], dim=-2)

        key_r = repeat_kv(key_states, self.num_key_value_groups)
        value_r = repeat_kv(value_states, self.num_key_value_groups)
        attn_weights = torch.matmul(query_states, key_r.transpose(2, 3)) * self.scaling
        attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        if keep is not None:
            keep["attn"] = attn_weights
        attn_output = torch.matmul(attn_weights, value_r)
        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(*input_shape, -1).contiguous()
        attn_output = self.o_proj(attn_output)
        return attn_output, key_states, value_states


class LlamaMLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg: LlamaConfig, layer_idx: int):
        super().__init__()
        self.self_attn = LlamaAttention(cfg, layer_idx)
        self.mlp = LlamaMLP(cfg)
        self.input_layernorm = LlamaRMSNorm(cfg.hidden_size, eps=cfg.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(cfg.hidden_size, eps=cfg.rms_norm_eps)

    def forward(self, hidden_states, position_embeddings, attention_mask, past_k, past_v, keep=None):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states, k, v = self.self_attn(hidden_states, position_embeddings, attention_mask,
                                             past_k, past_v, keep)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        hidden_states = residual + hidden_states
        return hidden_states, k, v


class LlamaModel(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(cfg, i) for i in range(cfg.num_hidden_layers)])
        self.norm = LlamaRMSNorm(cfg.hidden_size, eps=cfg.rms_norm_eps)
        self.rotary_emb = LlamaRotaryEmbedding(cfg)

    @staticmethod
    def causal_mask(attention_mask, t, p, dtype):
        """Additive mask [b, 1, t, p+t]: 0 where query p+i may attend key j (j <= p+i and
        attention_mask[b, j] == 1), finfo(dtype).min elsewhere."""
        qpos = torch.arange(t).unsqueeze(1) + p
        kpos = torch.arange(p + t).unsqueeze(0)
        causal = (kpos <= qpos).unsqueeze(0).unsqueeze(0)           # [1, 1, t, p+t]
        keep = (attention_mask > 0).unsqueeze(1).unsqueeze(2)        # [b, 1, 1, p+t]
        allowed = causal & keep
        return torch.where(allowed, torch.tensor(0.0, dtype=dtype),
                           torch.tensor(torch.finfo(dtype).min, dtype=dtype))

    def forward(self, input_ids, attention_mask, position_ids, past, internals=None):
        t = input_ids.shape[1]
        p = past[0][0].shape[2]
        hidden_states = self.embed_tokens(input_ids)
        mask = self.causal_mask(attention_mask, t, p, hidden_states.dtype)
        position_embeddings = self.rotary_emb(hidden_states, position_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            keep = {} if internals is not None else None
            if internals is not None:
                internals.setdefault("hidden", []).append(hidden_states)
            hidden_states, k, v = layer(hidden_states, position_embeddings, mask, past[i][0], past[i][1], keep)
            if internals is not None:
                internals.setdefault("attn", []).append(keep["attn"])
            presents.append((k, v))
        if internals is not None:
            internals["hidden"].append(hidden_states)
        return self.norm(hidden_states), presents


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def init_weights(self, seed):
        """Seeded random weights, scaled so every stage carries signal: Linear weights
        N(0, 1/fan_in) (unit-variance outputs, so attention scores ~N(0,1) and the attention is
        far from uniform), embeddings N(0, 1/hidden) (tied logits of order 1), RMSNorm gains
        1 + N(0, 0.2^2), q/k/v biases N(0, 0.1^2)."""
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("embed_tokens.weight"):
                    p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(self.cfg.hidden_size))
                elif name.endswith("norm.weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
                elif name.endswith(".bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                elif p.dim() == 2:
                    p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
        return self

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None, internals=None):
        """input_ids [b, t]; attention_mask [b, p+t] (1 = attend); position_ids [b, t];
        past: list of (key, value) [b, num_key_value_heads, p, head_dim]. Returns logits
        [b, t, vocab] and the list of present (key, value) [b, kv_heads, p+t, head_dim].
        `internals`, a dict, collects the residual stream entering each layer ("hidden", n_layer+1
        entries, the last one before model.norm) and the Softmax outputs ("attn",
        [b, num_attention_heads, t, p+t] per layer)."""
        cfg = self.cfg
        b, t = input_ids.shape
        if past is None:
            empty = torch.zeros(b, cfg.num_key_value_heads, 0, cfg.hd,
                                dtype=self.model.embed_tokens.weight.dtype)
            past = [(empty, empty)] * cfg.num_hidden_layers
        p = past[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(p, p + t).unsqueeze(0).expand(b, t)
        if attention_mask is None:
            attention_mask = torch.ones(b, p + t, dtype=torch.long)
        hidden_states, presents = self.model(input_ids, attention_mask, position_ids, past, internals)
        return self.lm_head(hidden_states), presents


class OnnxLlama(LlamaForCausalLM):
    """The same module with flat past/present tensors for torch.onnx.export: inputs input_ids,
    attention_mask, position_ids, past_key_values.{i}.key/value; outputs logits, present.{i}.*."""

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = super().forward(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def parameter_groups(model: LlamaForCausalLM):
    """Parameter counts by role (tied weights counted once, under embed)."""
    cfg = model.cfg
    groups = {"embed": model.model.embed_tokens.weight.numel(), "layers": []}
    for layer in model.model.layers:
        a, mlp = layer.self_attn, layer.mlp
        entry = {}
        for n in ("q", "k", "v", "o"):
            lin = getattr(a, n + "_proj")
            entry[f"attn.{n}_proj.weight"] = lin.weight.numel()
            if lin.bias is not None:
                entry[f"attn.{n}_proj.bias"] = lin.bias.numel()
        for n in ("gate", "up", "down"):
            entry[f"mlp.{n}_proj.weight"] = getattr(mlp, n + "_proj").weight.numel()
        entry["input_layernorm.weight"] = layer.input_layernorm.weight.numel()
        entry["post_attention_layernorm.weight"] = layer.post_attention_layernorm.weight.numel()
        groups["layers"].append(entry)
    groups["final_norm"] = model.model.norm.weight.numel()
    if not cfg.tie_word_embeddings:
        groups["lm_head"] = model.lm_head.weight.numel()
    total = groups["embed"] + groups["final_norm"] + groups.get("lm_head", 0) + \
        sum(sum(e.values()) for e in groups["layers"])
    assert total == sum(p.numel() for p in model.parameters()), "parameter groups miss a parameter"
    return groups
