"""Tests for url_blocklist_v1's UT1 blacklists (filters/urls.py): datatrove's bundled tarball (one `merged`
category), a UT1-layout tarball built here (blacklists/<category>/domains), per-category reasons, our own list
first, allow-list exceptions, category validation, and per-category counts in summary.json of a CLI run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from datatrove.data import Document

from filters.urls import UT1_TARBALL, UrlBlocklist, check_ut1_categories, ut1_members
from core.errors import ConfigError
from core.steps import build_step

ROOT = Path(__file__).resolve().parents[1]


def doc(url: str) -> Document:
    return Document(text="본문", id="t", metadata={"url": url})


@pytest.fixture(scope="module")
def listed() -> str:
    """A registered domain (two labels) that datatrove's UT1 list has, read from the tarball's first lines."""
    with tarfile.open(UT1_TARBALL, "r:*") as tar:
        f = io.TextIOWrapper(tar.extractfile(ut1_members(UT1_TARBALL)["merged"]), encoding="utf-8")
        for _, line in zip(range(100_000), f):
            d = line.strip()
            if d.count(".") == 1 and ("porn" in d or "sex" in d):
                return d
    pytest.fail("no adult registered domain in the first 100,000 lines of datatrove's UT1 list")


@pytest.fixture(scope="module")
def ut1() -> UrlBlocklist:
    return UrlBlocklist()  # the default: datatrove's tarball, category `merged`; loaded once for the module


def make_ut1_tarball(path: Path, categories: dict[str, list[str]]) -> Path:
    """A tarball in UT1's own layout (blacklists/<category>/domains), as dsi.ut-capitole.fr publishes it."""
    with tarfile.open(path, "w:gz") as tar:
        for cat, domains in categories.items():
            data = ("\n".join(domains) + "\n").encode()
            info = tarfile.TarInfo(f"blacklists/{cat}/domains")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture()
def categorized(tmp_path) -> Path:
    return make_ut1_tarball(tmp_path / "blacklists.tar.gz", {
        "adult": ["adult-example.com", "both-example.com"],
        "gambling": ["gambling-example.com", "both-example.com", "Toto-Safe-Playground.com"],
        "phishing": ["phish-example.net"],
    })


# --- datatrove's tarball ------------------------------------------------------------------------------------


def test_datatrove_tarball_has_one_merged_category():
    assert ut1_members(UT1_TARBALL) == {"merged": "domains"}


def test_listed_domain_and_its_subdomains_are_dropped_with_the_category_reason(ut1, listed):
    assert ut1.filter(doc(f"https://{listed}/video/1")) == (False, "url_blocklist:ut1_merged")
    assert ut1.filter(doc(f"http://www.m.{listed.upper()}:8080/?q=1")) == (False, "url_blocklist:ut1_merged")


@pytest.mark.parametrize("url", ["https://notlisted-example.com/", "https://{d}.notlisted-example.com/",
                                 "https://news.naver.com/main", "https://www.joongang.co.kr/article/1"])
def test_look_alikes_and_korean_portals_are_kept(ut1, listed, url):
    assert ut1.filter(doc(url.format(d=listed))) is True


def test_own_list_wins_over_ut1(tmp_path, listed):
    own = tmp_path / "own.txt"
    own.write_text(f"# own\n{listed}\n", encoding="utf-8")
    assert UrlBlocklist(blocklist_path=str(own)).filter(doc(f"https://www.{listed}/")) == (False, "url_blocklist")
    assert UrlBlocklist(extra_domains=[listed]).filter(doc(f"https://{listed}/")) == (False, "url_blocklist")


def test_yes24_is_an_exception_in_the_bundled_list(ut1):
    # UT1 lists yes24.com, the largest Korean online bookstore; `!yes24.com` in configs/url_blocklist.txt keeps
    # it (without that line it is dropped: the next test)
    assert ut1.filter(doc("http://www.yes24.com/Product/Goods/1")) is True


def test_allow_domains_are_exceptions_to_ut1_only(tmp_path, listed):
    own = tmp_path / "own.txt"
    own.write_text("# nothing allowed here\n", encoding="utf-8")
    no_exceptions = UrlBlocklist(blocklist_path=str(own))
    assert no_exceptions.filter(doc("https://yes24.com/")) == (False, "url_blocklist:ut1_merged")
    step = build_step({"step": "url_blocklist_v1", "blocklist_path": str(own), "allow_domains": [listed]})
    assert step.filter(doc(f"https://m.{listed}/")) is True
    allowing = tmp_path / "allowing.txt"  # a new file each time: a worker reads a list file once
    allowing.write_text(f"!{listed}\n", encoding="utf-8")
    assert UrlBlocklist(blocklist_path=str(allowing)).filter(doc(f"https://{listed}/")) is True
    both = tmp_path / "both.txt"  # allowed, and in our own list too: our list decides
    both.write_text(f"!{listed}\n{listed}\n", encoding="utf-8")
    assert UrlBlocklist(blocklist_path=str(both)).filter(doc(f"https://{listed}/")) == (False, "url_blocklist")


def test_empty_categories_turn_ut1_off(listed):
    assert build_step({"step": "url_blocklist_v1", "ut1_categories": []}).filter(doc(f"https://{listed}/")) is True


# --- categories: validated against the tarball, one reason each ----------------------------------------------


def test_unknown_category_is_a_one_line_config_error_listing_the_valid_ones(categorized):
    with pytest.raises(ConfigError, match=r"ut1_categories: unknown UT1 category 'gambling'; .* has: merged$"):
        build_step({"step": "url_blocklist_v1", "ut1_categories": ["gambling"]})
    with pytest.raises(ConfigError) as e:
        build_step({"step": "url_blocklist_v1", "ut1_path": str(categorized), "ut1_categories": ["adult", "porn"]})
    assert "\n" not in str(e.value)
    assert str(e.value).endswith("unknown UT1 category 'porn'; " f"{categorized} has: adult, gambling, phishing")


def test_missing_tarball_is_a_config_error_naming_it(tmp_path):
    gone = str(tmp_path / "url_filterblacklistsv0_3_0.tar.gz")
    with pytest.raises(ConfigError, match="UT1 blacklist tarball not found: .*url_filterblacklistsv0_3_0.tar.gz"):
        check_ut1_categories(["merged"], gone)
    assert check_ut1_categories([], gone) == ()  # UT1 off: the tarball is not needed
    with pytest.raises(ConfigError, match="ut1_path"):
        build_step({"step": "url_blocklist_v1", "ut1_path": gone})


def test_each_category_has_its_reason_and_the_first_configured_one_wins(categorized):
    step = build_step({"step": "url_blocklist_v1", "ut1_path": str(categorized),
                       "ut1_categories": ["gambling", "adult"]})
    assert step.filter(doc("https://adult-example.com/")) == (False, "url_blocklist:ut1_adult")
    assert step.filter(doc("https://www.gambling-example.com/")) == (False, "url_blocklist:ut1_gambling")
    assert step.filter(doc("https://both-example.com/")) == (False, "url_blocklist:ut1_gambling")
    assert step.filter(doc("https://phish-example.net/")) is True  # not configured
    assert step.filter(doc("https://toto-safe-playground.com/")) == (False, "url_blocklist")  # own list first
    swapped = UrlBlocklist(ut1_path=str(categorized), ut1_categories=["adult", "gambling"])
    assert swapped.filter(doc("https://both-example.com/")) == (False, "url_blocklist:ut1_adult")


def test_most_specific_listed_parent_decides(tmp_path):
    tarball = make_ut1_tarball(tmp_path / "b.tar.gz", {"adult": ["bad.good-example.com"]})
    step = UrlBlocklist(ut1_path=str(tarball), ut1_categories=["adult"], allow_domains=["good-example.com"])
    assert step.filter(doc("https://x.bad.good-example.com/")) == (False, "url_blocklist:ut1_adult")
    assert step.filter(doc("https://www.good-example.com/")) is True


def test_ut1_lines_are_normalized_as_our_own_list(tmp_path):
    tarball = make_ut1_tarball(tmp_path / "n.tar.gz", {"adult": ["# comment", "", "Upper-Example.COM.", "카지노.한국"]})
    step = UrlBlocklist(ut1_path=str(tarball), ut1_categories=["adult"])
    assert step.filter(doc("https://www.upper-example.com/")) == (False, "url_blocklist:ut1_adult")
    punycode = "www.카지노.한국".encode("idna").decode("ascii")
    assert step.filter(doc(f"http://{punycode}/")) == (False, "url_blocklist:ut1_adult")
    assert step.filter(doc("http://./")) is True  # the blank line is not a domain


# --- a CLI run counts drops per category ----------------------------------------------------------------------


def test_cli_run_counts_drops_per_category_in_summary(tmp_path, categorized):
    urls = {"a1": "https://adult-example.com/1", "a2": "https://m.adult-example.com/2",
            "g1": "https://gambling-example.com/", "o1": "https://toto-safe-playground.com/",
            "k1": "https://news.example.kr/1", "k2": "https://notlisted-example.com/"}
    shard = tmp_path / "in.jsonl"
    records = [{"id": i, "url": u, "text": "대한민국의 수도는 서울이다."} for i, u in urls.items()]
    shard.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "run"
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({
        "input": {"paths": [str(shard)]}, "output": str(out), "execution": {"backend": "local"},
        "steps": [{"step": "url_blocklist_v1", "ut1_path": str(categorized),
                   "ut1_categories": ["adult", "gambling", "phishing"]}]}, allow_unicode=True))
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(job), "--backend", "local"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text())
    assert s["documents_in"] == 6 and s["documents_kept"] == 2
    assert s["documents_dropped"] == {"url_blocklist:ut1_adult": 2, "url_blocklist:ut1_gambling": 1,
                                      "url_blocklist": 1}


def test_the_index_is_built_once_per_tarball_and_categories_and_read_back_the_same(tmp_path, categorized, monkeypatch):
    """Another process (here: a fresh load) reads the cached index instead of hashing the lists again, and the
    cache follows the tarball's bytes and the categories: a tarball rewritten with other domains is indexed again."""
    from filters import urls

    monkeypatch.setenv("KO_CURATE_CACHE", str(tmp_path / "cache"))
    built = urls.load_ut1(str(categorized), ("gambling", "adult"))
    assert len(list((tmp_path / "cache" / "ut1").glob("*.npz"))) == 1
    monkeypatch.setattr(urls, "_build_ut1", lambda *a: pytest.fail("the cached index was not used"))
    again = urls.load_ut1(str(categorized), ("gambling", "adult"))
    assert (again.hashes == built.hashes).all() and (again.category == built.category).all()
    assert again.lookup("both-example.com") == "gambling" and again.lookup("toto-safe-playground.com") == "gambling"
    assert again.lookup("example.com") is None
    monkeypatch.undo()
    monkeypatch.setenv("KO_CURATE_CACHE", str(tmp_path / "cache"))
    assert urls.load_ut1(str(categorized), ("adult",)).lookup("both-example.com") == "adult"  # other categories
    make_ut1_tarball(categorized, {"adult": ["new-example.com"], "gambling": [], "phishing": []})
    assert urls.load_ut1(str(categorized), ("adult",)).lookup("new-example.com") == "adult"  # other contents
    assert len(list((tmp_path / "cache" / "ut1").glob("*.npz"))) == 3


def test_a_damaged_cached_index_is_built_again(tmp_path, categorized, monkeypatch):
    from filters import urls

    monkeypatch.setenv("KO_CURATE_CACHE", str(tmp_path / "cache"))
    urls.load_ut1(str(categorized), ("phishing",))
    (cached,) = (tmp_path / "cache" / "ut1").glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:40])  # a disk that filled up under another program
    assert urls.load_ut1(str(categorized), ("phishing",)).lookup("phish-example.net") == "phishing"
    cached.write_bytes(b"")
    assert urls.load_ut1(str(categorized), ("phishing",)).lookup("phish-example.net") == "phishing"
