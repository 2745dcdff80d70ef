"""Tiny randomly initialised translators over a toy en–zh vocabulary: valid models for tests and
benchmarks that must not depend on the bundled checkpoints."""

from __future__ import annotations

import torch

from models.config import ModelConfig
from models.nets import build_model
from models.tokenize import tokenizer_for
from models.translator import Translator
from models.vocab import Vocab

EN = ["I love you .", "the cat sat on the mat .", "he is a teacher .", "we like tea ."]
ZH = ["我爱你。", "猫坐在垫子上。", "他是老师。", "我们喜欢茶。"]


def make_translator(scorer: str = "additive", mode: str = "soft", seed: int = 0, src_lang: str = "en", tgt_lang: str = "zh", hidden: int = 16) -> Translator:
    """A small randomly initialised model over a toy en-zh vocabulary."""
    torch.manual_seed(seed)
    src_tok, tgt_tok = tokenizer_for(src_lang), tokenizer_for(tgt_lang)
    src_texts, tgt_texts = (EN, ZH) if src_lang == "en" else (ZH, EN)
    sv = Vocab.build((src_tok.tokenize(s) for s in src_texts), lowercase=src_tok.lowercase)
    tv = Vocab.build((tgt_tok.tokenize(s) for s in tgt_texts), lowercase=tgt_tok.lowercase)
    cfg = ModelConfig(len(sv), len(tv), scorer=scorer, mode=mode, emb_dim=hidden, hidden=hidden, dropout=0.0)
    model = build_model(cfg).eval()
    return Translator(model, sv, tv, src_tok, tgt_tok, src_lang, tgt_lang, meta={"name": f"tiny-{scorer}-{mode}", "training": {"corpus": "toy"}, "metrics": {}})
