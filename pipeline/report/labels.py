"""The labels file of `pipeline audit`: which documents are good text and which junk, and in which register.

JSONL, one object a line: `url` (or `id`: the run's document id or the input record's own id), `label`
(`keep`: a good document, `drop`: junk) and `register` (wiki, news, spam, ...; optional). `read_labels(path)`
checks every row (a bad one is a ConfigError naming the file and line); `Labels.of` finds a document's label
by its url, else its id. `label_kind` names what a label counts as in the audit's tables.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError

LABELS = ("keep", "drop")
UNLABELED = "unlabeled"
NO_REGISTER = "-"


@dataclass(frozen=True)
class Label:
    label: str  # keep | drop
    register: str
    line: int


@dataclass
class Labels:
    path: Path
    by_url: dict[str, Label] = field(default_factory=dict)
    by_id: dict[str, Label] = field(default_factory=dict)
    rows: int = 0
    per_register: Counter = field(default_factory=Counter)  # (label, register) -> rows

    def of(self, url: str | None, doc_id: str | None, source_id: str | None) -> Label | None:
        """A document's label: by its url, else its id in the run, else the input record's own id."""
        label = self.by_url.get(url) if url else None
        if label is None and self.by_id:
            label = self.by_id.get(str(doc_id)) or (self.by_id.get(source_id) if source_id else None)
        return label


def read_labels(path: Path) -> Labels:
    """The labels file. A bad row (not JSON, no url and no id, a label other than keep/drop, two labels for one
    document) is a ConfigError naming the file and line."""
    if not path.is_file():
        raise ConfigError(f"{path}: labels file not found")
    labels = Labels(path)
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise ConfigError(f"{where}: not JSON ({e})") from None
            if not isinstance(obj, dict):
                raise ConfigError(f"{where}: not a JSON object")
            url, doc_id = obj.get("url"), obj.get("id")
            if not (isinstance(url, str) and url) and doc_id in (None, ""):
                raise ConfigError(f"{where}: needs a url or an id")
            if obj.get("label") not in LABELS:
                raise ConfigError(f"{where}: label must be keep or drop, not {obj.get('label')!r}")
            register = obj.get("register")
            lab = Label(obj["label"], str(register) if register not in (None, "") else NO_REGISTER, n)
            table, key = (labels.by_url, url) if isinstance(url, str) and url else (labels.by_id, str(doc_id))
            old = table.get(key)
            if old is not None:
                if (old.label, old.register) != (lab.label, lab.register):
                    raise ConfigError(f"{where}: {key!r} is labelled {old.label}/{old.register} on line {old.line} "
                                      f"and {lab.label}/{lab.register} here")
                continue  # the same label twice counts once
            table[key] = lab
            labels.rows += 1
            labels.per_register[(lab.label, lab.register)] += 1
    if not labels.rows:
        raise ConfigError(f"{path}: no label rows")
    return labels


def label_kind(label: Label | None) -> str:
    """What a label counts as in the audit's tables: good (labelled keep), junk (labelled drop) or unlabeled."""
    return UNLABELED if label is None else ("good" if label.label == "keep" else "junk")
