"""An existing tokenizer instead of a trained one: a Hugging Face `tokenizer.json` or a SentencePiece `.model`.

Most Korean teams continue pre-training a released model, so their data must be tokenized with that model's
tokenizer. With `tokenize.tokenizer: PATH` the tokenize stage trains nothing: it copies the file into
`RUN/tokenizer/` (so every worker and every later reader finds it in the run directory), takes the vocabulary
size, EOS and BOS ids from it, and writes `stats.json` with the same figures as for a trained tokenizer,
measured on the same held-out documents (the `heldout_documents` that training would have held out):

- `fertility_tokens_per_eojeol`, `fertility_tokens_per_char`: tokens per space-separated word and per character;
- `byte_fallback_share`: share of tokens that are not whole characters. SentencePiece: the `<0xNN>` byte pieces
  (`is_byte`, the same figure as for our own tokenizer). Hugging Face with `byte_fallback` (Llama-style
  `<0xNN>` tokens): those tokens. Hugging Face byte-level BPE (GPT-2 style, every token is bytes): tokens whose
  bytes are not valid UTF-8 on their own, i.e. a syllable cut into bytes (a Hangul syllable is 3 bytes); single
  ASCII bytes are whole characters and do not count. `byte_fallback_rule` in stats.json names the rule used;
- `unk_share`: share of unknown tokens (a vocabulary without byte fallback maps what it lacks to UNK);
- `hangul_char_coverage`, `hanja_char_coverage`: share of Hangul syllable / Hanja occurrences whose character,
  encoded alone, needs neither byte tokens nor UNK (SentencePiece: the character is a piece, as for our own).

`ExternalTokenizer.encode(texts)` encodes without special tokens (the stage appends EOS, and BOS when
`add_bos`), on one thread as the executor gives each task one CPU (TOKENIZERS_PARALLELISM=false unless set). Truncation and padding stored in a
tokenizer.json are switched off: they would silently cut documents.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.atomic import atomic_path, sha256_file, write_json
from core.config import is_remote
from core.models import resolve_model_path
from tokenizer.train import char_coverage

KINDS = ("huggingface", "sentencepiece")
# Files an external tokenizer leaves in RUN/tokenizer/; a run with another tokenizer removes the others.
OWN_FILES = ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json")
_BYTE_PIECE = re.compile(r"<0x[0-9A-Fa-f]{2}>")


def resolve_path(spec: str) -> tuple[str, str]:
    """(kind, file) of `tokenize.tokenizer`: a tokenizer.json, a .model, or a directory holding one of them."""
    if is_remote(spec):
        raise ValueError(f"{spec!r}: must be a local path (copy the tokenizer next to the run)")
    path = resolve_model_path(os.path.expanduser(spec))
    if os.path.isdir(path):
        for name in ("tokenizer.json", "tokenizer.model"):
            if os.path.isfile(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            raise ValueError(f"{spec}: directory holds neither tokenizer.json nor tokenizer.model")
    if not os.path.isfile(path):
        raise ValueError(f"{spec}: file not found")
    if path.endswith(".json"):
        return "huggingface", path
    if path.endswith(".model"):
        return "sentencepiece", path
    raise ValueError(f"{spec}: not a Hugging Face tokenizer.json (*.json) nor a SentencePiece model (*.model)")


def _bytes_to_unicode() -> dict[str, int]:
    """GPT-2's byte-level alphabet (the `tokenizers` ByteLevel pre-tokenizer uses the same): char -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def _has_type(node, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("type") == name or any(_has_type(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_has_type(v, name) for v in node)
    return False


def _config_token(tokenizer_file: str, key: str) -> str | None:
    """`eos_token` / `bos_token` from the tokenizer_config.json beside a tokenizer.json (transformers' layout)."""
    path = os.path.join(os.path.dirname(tokenizer_file), "tokenizer_config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        value = json.load(fh).get(key)
    return value.get("content") if isinstance(value, dict) else value


class ExternalTokenizer:
    """One loaded tokenizer file: encode, vocabulary size, and which ids are byte tokens or UNK."""

    def __init__(self, kind: str, path: str):
        self.kind, self.path = kind, path
        if kind == "sentencepiece":
            import sentencepiece as spm

            self.sp = spm.SentencePieceProcessor(model_file=path)
            self.vocab_size = self.sp.get_piece_size()
            self.unk_id = self.sp.unk_id()
            self.byte_fallback_rule = "sentencepiece_byte_pieces"
        else:
            try:
                from tokenizers import Tokenizer
            except ModuleNotFoundError:
                raise ValueError("a tokenizer.json needs the tokenizers package: pip install tokenizers") from None
            # The executor gives each task one core: without this, encode_batch spreads over all of them. An
            # explicit TOKENIZERS_PARALLELISM in the environment is kept.
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            self.hf = Tokenizer.from_file(path)
            self.hf.no_truncation()
            self.hf.no_padding()
            # encode_batch_fast (tokenizers >= 0.20) skips character offsets, ~30% faster on Korean text
            # (bench/speed/tokenize_external.py); the ids are the same.
            self._encode_batch = getattr(self.hf, "encode_batch_fast", self.hf.encode_batch)
            vocab = self.hf.get_vocab(with_added_tokens=True)
            # Ids, not the count of entries: the embedding table needs max id + 1 rows.
            self.vocab_size = max(vocab.values()) + 1
            spec = json.loads(self.hf.to_str())
            model = spec.get("model") or {}
            unk = model.get("unk_token")
            self.unk_id = vocab.get(unk, -1) if unk is not None else -1
            self._hf_vocab = vocab
            if _has_type(spec.get("pre_tokenizer"), "ByteLevel") or _has_type(spec.get("decoder"), "ByteLevel"):
                self.byte_fallback_rule = "byte_level_partial_utf8"
            elif model.get("byte_fallback"):
                self.byte_fallback_rule = "byte_pieces"
            else:
                self.byte_fallback_rule = "none"

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.kind == "sentencepiece":
            return self.sp.encode(texts, out_type=int, num_threads=1)
        return [e.ids for e in self._encode_batch(texts, add_special_tokens=False)]

    def token_id(self, token: str) -> int | None:
        if self.kind == "sentencepiece":
            i = self.sp.piece_to_id(token)
            return None if i == self.sp.unk_id() and token != self.sp.id_to_piece(i) else i
        return self.hf.token_to_id(token)

    def token(self, i: int) -> str:
        return self.sp.id_to_piece(i) if self.kind == "sentencepiece" else self.hf.id_to_token(i)

    @functools.cached_property
    def byte_ids(self) -> frozenset[int]:
        """Ids of the tokens `byte_fallback_share` counts (see the module docstring)."""
        if self.kind == "sentencepiece":
            return frozenset(i for i in range(self.vocab_size) if self.sp.is_byte(i))
        special = set(self.hf.get_added_tokens_decoder())
        if self.byte_fallback_rule == "byte_pieces":
            return frozenset(i for t, i in self._hf_vocab.items() if i not in special and _BYTE_PIECE.fullmatch(t))
        if self.byte_fallback_rule != "byte_level_partial_utf8":
            return frozenset()
        alphabet = _bytes_to_unicode()
        out = set()
        for t, i in self._hf_vocab.items():
            if i in special or not t or any(c not in alphabet for c in t):
                continue
            try:
                bytes(alphabet[c] for c in t).decode("utf-8")
            except UnicodeDecodeError:
                out.add(i)
        return frozenset(out)

    def covers(self, ch: str) -> bool:
        """The character, encoded alone, needs neither byte tokens nor UNK."""
        if self.kind == "sentencepiece":
            return self.sp.piece_to_id(ch) != self.sp.unk_id()
        ids = self.encode([ch])[0]
        return bool(ids) and not any(i in self.byte_ids or i == self.unk_id for i in ids)


@functools.lru_cache(maxsize=4)
def _load(kind: str, path: str, mtime_ns: int) -> ExternalTokenizer:
    return ExternalTokenizer(kind, path)


def load(kind: str, path: str) -> ExternalTokenizer:
    """Loaded once per process and file version (config validation and the stage share it)."""
    try:
        return _load(kind, path, os.stat(path).st_mtime_ns)
    except ValueError:
        raise
    except Exception as e:  # the loaders raise assorted Rust/C++ errors; name the file whatever they are
        raise ValueError(f"{path}: cannot be loaded as a {kind} tokenizer: {e}") from None


def special_id(spec: str, explicit: str | None, key: str, required: bool) -> tuple[int | None, str | None]:
    """(id, token) of EOS (`key` "eos_token") or BOS ("bos_token"): the configured token, else the one the
    tokenizer declares (a SentencePiece model's own id; a tokenizer_config.json beside a tokenizer.json)."""
    kind, path = resolve_path(spec)
    tok = load(kind, path)
    token = explicit
    if token is None and kind == "huggingface":
        token = _config_token(path, key)
    if token is not None:
        i = tok.token_id(token)
        if i is None:
            raise ValueError(f"{token!r} is not in the vocabulary of {path}")
        return i, token
    if kind == "sentencepiece":
        i = tok.sp.eos_id() if key == "eos_token" else tok.sp.bos_id()
        if i >= 0:
            return i, tok.token(i)
    if required:
        raise ValueError(f"{path} declares no {key.split('_')[0].upper()} token; set tokenize.{key}")
    return None, None


def measure(tok: ExternalTokenizer, texts: list[str]) -> dict:
    """The figures of `tokenizer.train.measure`, for any tokenizer, plus the share of unknown tokens."""
    encoded = tok.encode(texts) if texts else []
    byte_ids = tok.byte_ids
    tokens = sum(len(e) for e in encoded)
    byte_tokens = sum(1 for e in encoded for t in e if t in byte_ids)
    unk_tokens = sum(1 for e in encoded for t in e if t == tok.unk_id) if tok.unk_id >= 0 else 0
    eojeol = sum(len(t.split()) for t in texts)
    chars = sum(len(t) for t in texts)
    counts = char_coverage(texts, tok.covers)

    def share(a: int, b: int, digits: int = 6):
        return round(a / b, digits) if b else None

    return {
        "heldout_documents": len(texts),
        "heldout_tokens": tokens,
        "fertility_tokens_per_eojeol": share(tokens, eojeol, 4),
        "fertility_tokens_per_char": share(tokens, chars, 4),
        "byte_fallback_share": share(byte_tokens, tokens),
        "unk_share": share(unk_tokens, tokens),
        "hangul_char_coverage": share(*counts["hangul"]),
        "hanja_char_coverage": share(*counts["hanja"]),
        "hanja_chars": counts["hanja"][1],
    }


@dataclass(frozen=True)
class Installed:
    """The external tokenizer as the run uses it: its copy under RUN/tokenizer/ and its special ids."""

    kind: str
    path: str
    vocab_size: int
    eos_id: int
    bos_id: int | None
    add_bos: bool


def install(cfg, files: list[str], out_dir: Path, heldout: list[str] | None) -> tuple[dict, Installed]:
    """Copy the configured tokenizer into `out_dir`, measure it on `heldout` (None: no documents), write
    stats.json; return (stats, what the packing needs)."""
    kind, src = resolve_path(cfg.tokenizer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "tokenizer.json" if kind == "huggingface" else "tokenizer.model"
    copies = {name: src}
    beside = os.path.join(os.path.dirname(src), "tokenizer_config.json")
    if kind == "huggingface" and os.path.isfile(beside):
        copies["tokenizer_config.json"] = beside
    for stale in OWN_FILES:  # an earlier run's tokenizer would not be this one
        if stale not in copies:
            (out_dir / stale).unlink(missing_ok=True)
    for dst_name, path in copies.items():
        with atomic_path(out_dir / dst_name) as dst:
            shutil.copyfile(path, dst)
    dst = str(out_dir / name)
    tok = load(kind, dst)
    eos_id, eos_token = special_id(cfg.tokenizer, cfg.eos_token, "eos_token", required=True)
    bos_id, bos_token = special_id(cfg.tokenizer, cfg.bos_token, "bos_token", required=cfg.add_bos)
    stats = {
        "tokenizer_source": "external", "tokenizer_type": kind, "tokenizer_path": cfg.tokenizer,
        "tokenizer_sha256": sha256_file(dst), "vocab_size": tok.vocab_size,
        "eos_id": eos_id, "eos_token": eos_token, "bos_id": bos_id, "bos_token": bos_token, "add_bos": cfg.add_bos,
        "unk_id": tok.unk_id if tok.unk_id >= 0 else None, "byte_fallback_rule": tok.byte_fallback_rule,
        "seed": cfg.seed, "input_files": len(files),
    }
    if heldout is None:
        stats.update(note="no documents", **measure(tok, []))
    else:
        stats.update(measure(tok, heldout))
    write_json(out_dir / "stats.json", stats)
    return stats, Installed(kind, dst, tok.vocab_size, eos_id, bos_id if cfg.add_bos else None, cfg.add_bos)
