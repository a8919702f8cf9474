"""Hostile input: seconds per input size for every regex and every default step, and the growth per 10x.

    python bench/scale/adversarial.py [--sizes 10000,100000,1000000] [--config configs/ko-web.yaml] [--repeat 3]
                                      [--sections known,regex,steps]

What it measures:
- every compiled regex the default steps use (module-level patterns of filters/ and core/text.py, the
  patterns steps build in `__init__`, the boilerplate lines of configs/ko_boilerplate_patterns.txt one by
  one, the spam lexicons' term patterns), plus the e-mail finder of filters/pii.py, the lexicon's
  whole-eojeol matcher and `host_and_parents`. For each, inputs are built from the pattern's own pieces
  (its literals and a character of each class it uses: a lead piece followed by a run of a filler piece, or
  a unit of two pieces repeated, each ending in a character that makes the match fail), screened at 256
  characters, and the slowest one is timed at each size. The known bad cases of the "hostile input" issue
  are timed by name (`로그인  ` x k + `!`, `토토` + `사이트추천` x k + `x`, `a` x k + ` @`, a host of k labels).
- every step of the config's `steps:` (built with `core.steps.build_step`), on one document per size
  made of those known bad strings and its URL's host of many labels. Steps that need files of a run
  (line_dedup_v1 reads `{run_dir}`) are skipped with a note.
Growth per 10x is time(10 s) / time(s): ~10 is linear, ~100 quadratic. Figures only, no asserts; the
machine is shared, so each figure is the best of --repeat runs. tests/test_regex_safety.py imports the
inventory and input builders from here and asserts linear growth at smaller sizes.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import time
from collections.abc import Callable

from bench.harness import ROOT

try:
    from re import _parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

CONFIG = os.path.join(ROOT, "configs", "ko-web.yaml")
# A character no pattern here expects at the end of what it matched: it makes every attempt fail late.
TAILS = ("!", "\x01")


# --- the inventory ----------------------------------------------------------------------------------------


def _module_patterns(module) -> list[tuple[str, re.Pattern]]:
    return [(f"{module.__name__}.{k}", v) for k, v in sorted(vars(module).items()) if isinstance(v, re.Pattern)]


def default_steps(config: str = CONFIG) -> list[tuple[str, object | None, str]]:
    """(name, built step or None, note) for each step of the config's `steps:`."""
    import yaml

    from core.steps import build_step

    with open(config, encoding="utf-8") as f:
        steps = yaml.safe_load(f)["steps"]
    out = []
    for spec in steps:
        name = spec["step"]
        try:
            out.append((name, build_step(dict(spec)), ""))
        except Exception as e:  # noqa: BLE001  (a bench: name the step and go on)
            out.append((name, None, f"skipped: {type(e).__name__}: {str(e)[:80]}"))
    return out


def regex_inventory(config: str = CONFIG) -> list[tuple[str, re.Pattern]]:
    """Every compiled regex the default steps use, named by where it lives."""
    import filters.c4_fineweb
    import filters.gopher
    import filters.ko_patterns
    import filters.korean
    import filters.urls
    import filters.line_dedup
    import filters.pii
    import filters.quality
    import filters.signals
    import filters.spam_lexicon
    import pipeline.read.extract
    import pipeline.read.feeds
    import core.redact
    import core.text
    from filters.korean import _read_data_lines
    from filters.spam_lexicon import load_lexicon

    found: list[tuple[str, re.Pattern]] = []
    for module in (filters.gopher, filters.c4_fineweb, filters.ko_patterns, filters.korean, filters.urls,
                   filters.line_dedup, filters.pii, filters.quality, filters.signals, filters.spam_lexicon, core.text,
                   pipeline.read.extract, pipeline.read.feeds, core.redact):  # what the reader runs on every page
        found += _module_patterns(module)
    for name, step, _ in default_steps(config):
        for attr, value in sorted(vars(step).items()) if step is not None else ():
            if isinstance(value, re.Pattern):
                found.append((f"{name}.{attr}", value))
    found.append(("ko_patterns.sentence_ends", filters.ko_patterns.sentence_ends(
        "configs/ko_sentence_endings.txt")._ending_at_end))
    path = os.path.join(ROOT, "configs", "ko_boilerplate_patterns.txt")
    for i, p in enumerate(_read_data_lines(path, "boilerplate patterns"), 1):
        found.append((f"ko_boilerplate_patterns.txt#{i}", re.compile(p, re.IGNORECASE)))
    for kind in ("gambling", "adult"):
        lexicon = load_lexicon(os.path.join(ROOT, "configs", f"ko_spam_{kind}.txt"))
        for attr, value in sorted(vars(lexicon).items()):
            if isinstance(value, re.Pattern):
                found.append((f"ko_spam_{kind}.{attr}", value))
    seen: set[tuple[str, int]] = set()
    unique = []
    for name, p in found:
        if (p.pattern, p.flags) not in seen:
            seen.add((p.pattern, p.flags))
            unique.append((name, p))
    return unique


# --- inputs built from a pattern's own pieces ---------------------------------------------------------


def _class_samples(items) -> list[str]:
    out: list[str] = []
    negated = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            out.append(chr(av))
        elif name == "RANGE":
            out += [chr(av[0]), chr(av[1])]
        elif name == "CATEGORY":
            cat = str(av)
            out += {"CATEGORY_DIGIT": ["7"], "CATEGORY_SPACE": [" ", "\t"], "CATEGORY_WORD": ["a", "가", "_"]}.get(
                cat, ["!", "가"])
    return ["x", "가", " "] if negated else out


def _walk(parsed, out: list[str]) -> None:
    literal = []
    for op, av in parsed:
        name = str(op)
        if name == "LITERAL":
            literal.append(chr(av))
            continue
        if literal:
            out.append("".join(literal))
            literal = []
        if name == "IN":
            out += _class_samples(av)
        elif name in ("ANY", "NOT_LITERAL"):
            out.append("x")
        elif name == "BRANCH":
            for sub in av[1]:
                _walk(sub, out)
        elif name == "SUBPATTERN":
            _walk(av[-1], out)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _walk(av[2], out)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _walk(av[1], out)
        elif name == "ATOMIC_GROUP":
            _walk(av, out)
    if literal:
        out.append("".join(literal))


def atoms(pattern: re.Pattern, limit: int = 40) -> list[str]:
    """The pattern's literals and a few characters of each class it uses, plus spaces (at most `limit`)."""
    out: list[str] = []
    _walk(sre_parse.parse(pattern.pattern, pattern.flags), out)
    return list(dict.fromkeys([" ", "  "] + [a for a in out if a]))[:limit]


def _fill(unit: str, size: int) -> str:
    return (unit * (size // max(1, len(unit)) + 1))[:size]


def adversarial_inputs(pattern: re.Pattern, size: int, limit: int = 40) -> list[tuple[str, str]]:
    """(label, text of about `size` characters) built from the pattern's own pieces (at most `limit`)."""
    pieces = atoms(pattern, limit)
    out = []
    for lead, filler in itertools.product(pieces, repeat=2):
        for tail in TAILS:
            out.append((f"{lead!r}+{filler!r}*k+{tail!r}", lead + _fill(filler, size - len(lead)) + tail))
    for a, b in itertools.combinations(pieces, 2):
        for joint in ("", "  "):
            out.append((f"({a!r}{joint!r}{b!r}{joint!r})*k+'!'", _fill(a + joint + b + joint, size) + "!"))
    return out


def timed(fn: Callable[[str], object], text: str, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - t0)
    return best


def pattern_runner(pattern: re.Pattern) -> Callable[[str], object]:
    """What the pipeline does with a pattern: scan the whole text for every match."""
    if isinstance(pattern.pattern, bytes):  # the readers' patterns run on raw payloads
        return lambda text: sum(1 for _ in pattern.finditer(text.encode("utf-8", "surrogatepass")))
    return lambda text: sum(1 for _ in pattern.finditer(text))


def slowest_input(pattern: re.Pattern, screen_size: int = 256, limit: int = 40) -> tuple[str, Callable[[int], str]]:
    """The input family that is slowest at `screen_size`, as (label, size -> text)."""
    run = pattern_runner(pattern)
    best_label, best_t = "", -1.0
    for label, text in adversarial_inputs(pattern, screen_size, limit):
        t = timed(run, text)
        if t > best_t:
            best_label, best_t = label, t

    def build(size: int) -> str:
        return dict(adversarial_inputs(pattern, size, limit))[best_label]

    return best_label, build


# --- the known bad cases of the issue -------------------------------------------------------------------


def known_cases() -> list[tuple[str, Callable[[str], object], Callable[[int], str]]]:
    """(name, function under test, size -> input) for each case the issue names."""
    from filters.korean import load_boilerplate_patterns
    from filters.pii import PiiMask
    from filters.spam_lexicon import load_lexicon
    from filters.urls import host_and_parents

    boilerplate = load_boilerplate_patterns(os.path.join(ROOT, "configs", "ko_boilerplate_patterns.txt"))
    gambling = load_lexicon(os.path.join(ROOT, "configs", "ko_spam_gambling.txt"))
    pii = PiiMask()
    return [
        ("boilerplate: 로그인  x k + !", boilerplate.search, lambda n: _fill("로그인  ", n) + "!"),
        ("boilerplate: 공유  x k + !", boilerplate.search, lambda n: _fill("공유  ", n) + "!"),
        ("gambling lexicon: 토토 + 사이트추천 x k + x", gambling.token_weight,
         lambda n: "토토" + _fill("사이트추천", n) + "x"),
        ("pii_mask: a x k + ' @'", pii.mask, lambda n: _fill("a", n) + " @"),
        ("pii_mask: (a x 64 + @ + a.) x k", pii.mask, lambda n: _fill("a" * 64 + "@" + "a." * 20, n)),
        ("host_and_parents: a. x k + com", host_and_parents, lambda n: _fill("a.", n) + "com"),
    ]


def hostile_document_text(size: int) -> str:
    """One document of about `size` characters made of the known bad strings, line by line."""
    lines = ["로그인  " * 18 + "!", "공유  " * 18 + "!", "토토" + "사이트추천" * 23 + "x",
             "a" * 200 + " @", "대한민국의 수도는 서울이다. 문의 hong@daum.net로 보내 주세요."]
    line = "\n".join(lines) + "\n"
    # one long unbroken run too: patterns that are safe per line must be safe on a line of any length
    return _fill(line, size // 2) + _fill("로그인  ", size // 4) + "!\n" + _fill("사이트추천", size // 4) + "x"


def hostile_url(labels: int) -> str:
    return "http://" + "a." * labels + "example.com/"


# --- the report ---------------------------------------------------------------------------------------


def _row(name: str, times: list[float]) -> str:
    growth = [f"{b / a:7.1f}x" if a > 0 else "      -" for a, b in zip(times, times[1:])]
    return f"{name[:58]:58s} " + " ".join(f"{t:9.4f}" for t in times) + "  " + " ".join(growth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--config", default=CONFIG)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sections", default="known,regex,steps", help="which tables to print (the regex one is slow)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    sizes = [int(s) for s in args.sizes.split(",")]
    os.chdir(ROOT)
    header = f"{'':58s} " + " ".join(f"{s:>9,d}" for s in sizes) + "  growth per step"
    print("seconds per input size (characters)\n" + header)

    if "known" in sections:
        print("-- known bad cases")
    for name, fn, build in known_cases() if "known" in sections else ():
        print(_row(name, [timed(fn, build(n), args.repeat) for n in sizes]), flush=True)

    if "regex" in sections:
        print("-- every regex, on its slowest input built from its own pieces")
    worst: list[tuple[float, str]] = []
    for name, pattern in regex_inventory(args.config) if "regex" in sections else ():
        label, build = slowest_input(pattern)
        times = [timed(pattern_runner(pattern), build(n), args.repeat) for n in sizes]
        worst.append((max(b / a if a > 0 else 0 for a, b in zip(times, times[1:])), name))
        print(_row(f"{name} {label}", times), flush=True)

    if "steps" in sections:
        print("-- every default step, on one hostile document (URL host of size/2 labels)")
    from datatrove.data import Document

    for name, step, note in default_steps(args.config) if "steps" in sections else ():
        if step is None:
            print(f"{name:58s} {note}")
            continue
        if name == "line_dedup_v1":
            print(f"{name:58s} skipped: needs the line counts a run's pre-pass writes under {{run_dir}}")
            continue
        times = []
        for n in sizes:
            def run_step(text: str, n=n, step=step) -> None:
                doc = Document(text, "hostile", metadata={"url": hostile_url(n // 2)})
                for _ in step.run(iter([doc])):
                    pass
            times.append(timed(run_step, hostile_document_text(n), args.repeat))
        print(_row(name, times), flush=True)
    worst.sort(reverse=True)
    if worst:
        print("largest regex growth per 10x:", ", ".join(f"{name} {g:.1f}x" for g, name in worst[:3]))


if __name__ == "__main__":
    main()
