"""GPT-2 as a plain PyTorch module with explicit past key/value tensors.

Parameter names follow Hugging Face's GPT2LMHeadModel (transformer.wte, transformer.h.{i}.attn.c_attn,
..., Conv1D weights stored [in, out]), so `state_dict()` plus `lm_head.weight = transformer.wte.weight`
loads into transformers. Attention is an explicit MatMul -> Softmax -> MatMul so the ONNX graph has
one rank-4 Softmax [batch, heads, q, k] per layer for the inference core to tap.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn


@dataclass
class Config:
    vocab_size: int = 8192
    n_positions: int = 1024
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    layer_norm_epsilon: float = 1e-5

    def to_dict(self):
        return asdict(self)


class Conv1D(nn.Module):
    """Hugging Face GPT-2's Conv1D: a linear layer whose weight is stored [in, out]."""

    def __init__(self, nx, nf):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.matmul(x, self.weight) + self.bias


def gelu_new(x):
    # GPT-2's tanh approximation, written out so every opset exports it.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class Attention(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        self.n_head = cfg.n_head
        self.head_dim = cfg.n_embd // cfg.n_head
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)
        # GPT-2's scaled init of residual projections.
        nn.init.normal_(self.c_proj.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(self, x, past_k, past_v, mask, keep=None):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q = q.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        scores = torch.where(mask, scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
        probs = torch.softmax(scores, dim=-1)
        if keep is not None:
            keep["attn"] = probs
        y = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, d)
        return self.c_proj(y), k, v


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = Conv1D(4 * cfg.n_embd, cfg.n_embd)
        nn.init.normal_(self.c_proj.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg, layer)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x, past_k, past_v, mask, keep=None):
        a, k, v = self.attn(self.ln_1(x), past_k, past_v, mask, keep)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, k, v


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList([Block(cfg, i) for i in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)


class GPT2(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None, internals=None):
        """input_ids [b, t]; attention_mask [b, p+t] (1 = attend); position_ids [b, t];
        past: list of (key, value) [b, heads, p, head_dim]. Returns logits [b, t, vocab] and the
        list of present (key, value). `internals`, a dict, collects hidden states entering each
        layer ("hidden", n_layer+1 entries, the last before ln_f) and attention probabilities."""
        cfg = self.cfg
        b, t = input_ids.shape
        tr = self.transformer
        hd = cfg.n_embd // cfg.n_head
        if past is None:
            empty = torch.zeros(b, cfg.n_head, 0, hd, dtype=tr.wte.weight.dtype)
            past = [(empty, empty)] * cfg.n_layer
        p = past[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(p, p + t).unsqueeze(0).expand(b, t)
        if attention_mask is None:
            attention_mask = torch.ones(b, p + t, dtype=torch.long)
        # Causal mask from the shapes: query i (absolute p+i) sees keys j <= p+i, and only keys
        # the attention mask keeps.
        qpos = torch.arange(t).unsqueeze(1) + p
        kpos = torch.arange(p + t).unsqueeze(0)
        causal = (kpos <= qpos).unsqueeze(0).unsqueeze(0)          # [1, 1, t, p+t]
        keep_k = (attention_mask > 0).unsqueeze(1).unsqueeze(2)      # [b, 1, 1, p+t]
        mask = causal & keep_k
        x = tr.wte(input_ids) + tr.wpe(position_ids)
        presents = []
        for i, block in enumerate(tr.h):
            keep = {} if internals is not None else None
            if internals is not None:
                internals.setdefault("hidden", []).append(x)
            x, k, v = block(x, past[i][0], past[i][1], mask, keep)
            if internals is not None:
                internals.setdefault("attn", []).append(keep["attn"])
            presents.append((k, v))
        if internals is not None:
            internals["hidden"].append(x)
        x = tr.ln_f(x)
        logits = torch.matmul(x, tr.wte.weight.t())  # tied LM head
        return logits, presents


def param_breakdown(cfg: Config):
    """Parameter count with the formula behind each part (d = n_embd, V = vocab, n = n_positions)."""
    d, V, n, L = cfg.n_embd, cfg.vocab_size, cfg.n_positions, cfg.n_layer
    parts = {
        "token_embeddings (V*d, tied with the LM head)": V * d,
        "position_embeddings (n_ctx*d)": n * d,
        "attention per layer (4d^2 weights + 4d biases)": 4 * d * d + 4 * d,
        "mlp per layer (8d^2 weights + 5d biases)": 8 * d * d + 5 * d,
        "layernorms per layer (2 x (d gain + d bias) = 4d)": 4 * d,
        "final layernorm (2d)": 2 * d,
    }
    per_layer = 12 * d * d + 13 * d
    total = V * d + n * d + L * per_layer + 2 * d
    weights = V * d + n * d + L * (12 * d * d + 2 * d) + d
    biases = L * (9 * d + 2 * d) + d
    return {"parts": parts, "per_layer": per_layer, "total": total,
            "matrix_and_gain_weights": weights, "biases": biases}
