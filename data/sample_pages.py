"""HTML page templates for the bundled sample: news, blog and encyclopedia pages around real article text, and
the other kinds of page a Korean crawl holds (comment boards, menu-only pages, foreign pages, spam, junk).

Used only by `data/make_sample.py`. Every renderer takes a `random.Random` (so the sample is reproducible) and
returns `(title, html)`. Article paragraphs always sit in `<p>` elements without a class inside the element with
`itemprop="articleBody"`; `bench/quality/extractors.py` uses exactly that to tell article text from boilerplate.
"""

from __future__ import annotations

import html
import random

import sample_text as st


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _head(title: str, meta_charset: str | None, meta_style: str = "charset", lang: str = "ko") -> str:
    if meta_charset is None:
        meta = ""
    elif meta_style == "http-equiv":
        # The pre-HTML5 form many older Korean sites still serve.
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">\n'
    else:
        meta = f'<meta charset="{meta_charset}">\n'
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n{meta}'
        f"<title>{_esc(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/static/css/common.css">\n'
        "<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>\n"
        "<style>.gnb li{display:inline-block;margin:0 8px}.cookie{position:fixed;bottom:0}</style>\n"
        "</head>\n"
    )


def _links(items: list[str], cls: str, ordered: bool = False) -> str:
    tag = "ol" if ordered else "ul"
    lis = "".join(f'<li><a href="/{i}">{_esc(t)}</a></li>' for i, t in enumerate(items))
    return f'<{tag} class="{cls}">{lis}</{tag}>'


def _paragraphs(paragraphs: list[str]) -> str:
    return "\n".join(f"<p>{_esc(p)}</p>" for p in paragraphs)


def _date(rng: random.Random) -> str:
    return f"2024.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d} {rng.randint(6, 23):02d}:{rng.randint(0, 59):02d}"


def news_page(rng: random.Random, site: tuple[str, str, str], title: str, paragraphs: list[str],
              related: list[str], meta_charset: str | None = "utf-8", meta_style: str = "charset",
              extra_boilerplate: str | None = None) -> tuple[str, str]:
    name, _host, company = site
    reporter, mailbox = rng.choice(st.REPORTERS)
    email_domain = rng.choice(["example.co.kr", "example.com"])
    top = rng.choice(st.TOP_LINKS)
    top_html = " | ".join(f'<a href="/member/{i}">{_esc(t.strip())}</a>' for i, t in enumerate(top.split("|")))
    crumbs = " &gt; ".join(f'<a href="/c{i}">{_esc(c)}</a>' for i, c in enumerate(rng.choice(st.BREADCRUMBS).split(" > ")))
    copyright_line = rng.choice(st.COPYRIGHT_LINES).format(site=name)
    popular = rng.sample(related, k=min(5, len(related)))
    extra = f'<div class="issue-keyword">{_esc(extra_boilerplate)}</div>\n' if extra_boilerplate else ""
    body = (
        "<body>\n"
        f'<header class="site-header">\n<div class="top-links">{top_html}</div>\n'
        f'<div class="logo"><a href="/">{_esc(name)}</a></div>\n'
        f'<nav class="gnb">{_links(st.NEWS_SECTIONS, "gnb-menu")}</nav>\n</header>\n'
        f'<div class="breadcrumb">{crumbs}</div>\n{extra}'
        '<main id="container">\n<article class="news-view">\n'
        f'<h1 class="headline">{_esc(title)}</h1>\n'
        f'<div class="article-info"><span class="date">입력 {_date(rng)}</span> '
        f'<span class="font-tools">{_esc(st.FONT_LINE)}</span></div>\n'
        '<div class="article-body" itemprop="articleBody">\n'
        f'<figure class="photo"><img src="/photo/{rng.randint(10000, 99999)}.jpg" alt="">'
        f"<figcaption>{_esc(rng.choice(st.PHOTO_CREDITS))}</figcaption></figure>\n"
        f"{_paragraphs(paragraphs)}\n"
        f'<p class="byline">{_esc(reporter)} 기자 {mailbox}@{email_domain}</p>\n'
        f'<p class="copyright">{_esc(copyright_line)}</p>\n'
        "</div>\n"
        f'<div class="share">{_esc(st.SHARE_LINE)}</div>\n'
        "</article>\n"
        f'<aside class="related"><h3>관련기사</h3>{_links(related, "related-list")}'
        f'<a class="more" href="/list">{st.MORE}</a></aside>\n'
        f'<aside class="popular"><h3>{_esc(rng.choice(st.POPULAR_HEAD))}</h3>{_links(popular, "rank", ordered=True)}</aside>\n'
        "</main>\n"
        f'<div class="cookie">{_esc(rng.choice(st.COOKIE_NOTICES))} <button type="button">확인</button></div>\n'
        f'<footer>\n<p class="footer-links">{_esc(st.FOOTER_LINKS)}</p>\n<p class="company">{_esc(company)}</p>\n'
        f'<p class="copyright">{_esc(st.COPYRIGHT_LINES[1].format(site=name))}</p>\n</footer>\n'
        '<script src="/static/js/ad.js"></script>\n</body>\n</html>\n'
    )
    return title, _head(f"{title} - {name}", meta_charset, meta_style) + body


def blog_page(rng: random.Random, blog_name: str, title: str, paragraphs: list[str], related: list[str],
              meta_charset: str | None = "utf-8", meta_style: str = "charset",
              extra_boilerplate: str | None = None) -> tuple[str, str]:
    tail = [t.format(n=rng.randint(0, 40), m=rng.randint(0, 12)) for t in st.BLOG_TAIL]
    extra = f'<div class="search-rank">{_esc(extra_boilerplate)}</div>\n' if extra_boilerplate else ""
    body = (
        "<body>\n"
        f'<div id="header"><h2 class="blog-title"><a href="/">{_esc(blog_name)}</a></h2>\n'
        f'<div class="top-links"><a href="/manage">관리</a> | <a href="/write">글쓰기</a> | <a href="/login">로그인</a></div></div>\n'
        f'<div id="sidebar"><h3>카테고리</h3>{_links(st.BLOG_CATEGORIES, "category-list")}</div>\n{extra}'
        '<div id="content"><div class="entry">\n'
        f'<h1 class="entry-title">{_esc(title)}</h1>\n'
        f'<div class="entry-meta">{_esc(blog_name)} · {_date(rng)}</div>\n'
        '<div class="entry-content" itemprop="articleBody">\n'
        f"{_paragraphs(paragraphs)}\n"
        "</div>\n"
        f'<div class="entry-tail">{"".join(f"<span>{_esc(t)}</span> " for t in tail[:3])}</div>\n'
        f'<div class="license">{_esc(tail[3])}</div>\n'
        f'<div class="popular-posts"><h3>{_esc(tail[4])}</h3>{_links(related[:4], "post-list")}</div>\n'
        f'<div class="recent-posts"><h3>{_esc(tail[5])}</h3>{_links(related[4:8], "post-list")}</div>\n'
        "</div></div>\n"
        f'<div id="footer"><p>{_esc(st.BLOG_FOOTER)}</p></div>\n</body>\n</html>\n'
    )
    return title, _head(f"{title} :: {blog_name}", meta_charset, meta_style) + body


def wiki_portal_page(rng: random.Random, title: str, paragraphs: list[str], related: list[str],
                     meta_charset: str | None = "utf-8", meta_style: str = "charset",
                     extra_boilerplate: str | None = None) -> tuple[str, str]:
    name, _host = st.WIKI_PORTAL
    toc = [f"{i + 1}. {t}" for i, t in enumerate(["개요", "역사", "특징", "같이 보기"])]
    extra = f'<div class="hot-keyword">{_esc(extra_boilerplate)}</div>\n' if extra_boilerplate else ""
    body = (
        "<body>\n"
        f'<div class="gnb"><a href="/">{_esc(name)}</a> <a href="/login">로그인</a> | <a href="/join">회원가입</a></div>\n'
        f'<form class="search"><input type="text" placeholder="검색어를 입력하세요"><button>검색</button></form>\n{extra}'
        f'<div class="location">{_esc(name)} &gt; 인문과학 &gt; 일반</div>\n'
        '<div class="content">\n'
        f'<h1 class="title">{_esc(title)}</h1>\n'
        f'<div class="toc"><strong>목차</strong>{_links(toc, "toc-list", ordered=True)}</div>\n'
        '<div class="desc" itemprop="articleBody">\n'
        f"{_paragraphs(paragraphs)}\n"
        "</div>\n"
        f'<div class="source">{_esc(st.WIKI_TAIL[0])}</div>\n'
        f'<div class="license">{_esc(st.WIKI_TAIL[1])}</div>\n'
        f'<div class="tools">{_esc(st.WIKI_TAIL[2])}</div>\n'
        "</div>\n"
        f'<div class="related-terms"><h3>연관 항목</h3>{_links(related[:6], "term-list")}</div>\n'
        f'<div class="footer">© {_esc(name)} · 서비스 약관 · 개인정보처리방침</div>\n</body>\n</html>\n'
    )
    return title, _head(f"{title} : {name}", meta_charset, meta_style) + body


def boilerplate_heavy_page(rng: random.Random, site: tuple[str, str, str], headlines: list[str]) -> tuple[str, str]:
    """A section index: menus, headline lists and one line of content, as crawled from category pages."""
    name, _host, company = site
    section = rng.choice(st.NEWS_SECTIONS)
    lists = "".join(
        f'<div class="box"><h3>{_esc(h)}</h3>{_links(rng.sample(headlines, k=min(6, len(headlines))), "list")}'
        f'<a class="more" href="/more">{st.MORE}</a></div>\n'
        for h in rng.sample(st.POPULAR_HEAD, k=2)
    )
    body = (
        "<body>\n"
        f'<div class="top-links">{_esc(rng.choice(st.TOP_LINKS))}</div>\n'
        f'<div class="logo"><a href="/">{_esc(name)}</a></div>\n'
        f'<nav class="gnb">{_links(st.NEWS_SECTIONS, "gnb-menu")}</nav>\n'
        f'<div class="breadcrumb">홈 &gt; {_esc(section)}</div>\n'
        f'<div class="section-title"><h2>{_esc(section)}</h2><p>{_esc(section)} 분야의 최신 기사를 모아 보여드립니다.</p></div>\n'
        f"{lists}"
        f'<div class="paging">{" ".join(str(i) for i in range(1, 11))} 다음</div>\n'
        f'<div class="cookie">{_esc(rng.choice(st.COOKIE_NOTICES))} <button>확인</button></div>\n'
        f"<footer><p>{_esc(st.FOOTER_LINKS)}</p><p>{_esc(company)}</p>"
        f"<p>{_esc(st.COPYRIGHT_LINES[0].format(site=name))}</p></footer>\n</body>\n</html>\n"
    )
    return f"{section} - {name}", _head(f"{section} - {name}", "utf-8") + body


def comments_page(rng: random.Random, movie: str, reviews: list[tuple[str, str]]) -> tuple[str, str]:
    """A movie comment board: several short user reviews (nsmc), each with a rating and a masked user id."""
    items = "\n".join(
        f'<li class="comment"><span class="user">{_esc(chr(rng.randint(0x61, 0x7A)) * 2)}****</span> '
        f'<span class="score">★ {_esc(rating)}</span><p class="text">{_esc(text)}</p>'
        f'<span class="date">{_date(rng)}</span> <a class="report">신고</a></li>'
        for text, rating in reviews
    )
    title = f"{movie} 관람평"
    body = (
        "<body>\n"
        '<div class="top-links">로그인 | 회원가입 | 고객센터</div>\n'
        f'<nav class="gnb">{_links(["영화", "예매", "관람평", "이벤트", "스토어"], "gnb-menu")}</nav>\n'
        f'<div class="board"><h1>{_esc(title)}</h1>\n'
        f'<div class="sort">{_esc(st.COMMENT_BOARD_TAIL[1])}</div>\n'
        f'<ul class="comment-list">\n{items}\n</ul>\n'
        f'<div class="notice">{_esc(st.COMMENT_BOARD_TAIL[2])}</div>\n'
        f'<a class="more">{_esc(st.COMMENT_BOARD_TAIL[0])}</a></div>\n'
        "<footer>© 영화나라 · 이용약관 · 개인정보처리방침</footer>\n</body>\n</html>\n"
    )
    return title, _head(title, "utf-8") + body


def foreign_page(rng: random.Random, lang: str, korean_nav: bool = False) -> tuple[str, str]:
    """A page in English, Japanese or Chinese; `korean_nav` adds one Korean language-switcher line."""
    pools = {
        "en": (st.ENGLISH_PARAGRAPHS, st.ENGLISH_SITE, st.ENGLISH_NAV, st.ENGLISH_FOOTER),
        "ja": (st.JAPANESE_PARAGRAPHS, st.JAPANESE_SITE, ["ホーム", "商店街", "イベント", "お問い合わせ"], "© まちかど日記"),
        "zh": (st.CHINESE_PARAGRAPHS, st.CHINESE_SITE, ["首页", "旅游", "美食", "联系我们"], "© 小城故事 版权所有"),
    }
    paragraphs_pool, (site, _host), nav, footer = pools[lang]
    paragraphs = rng.sample(paragraphs_pool, k=rng.randint(3, len(paragraphs_pool)))
    title = paragraphs[0].split(".")[0].split("。")[0].split("，")[0][:40]
    ko_line = f'<div class="lang-switch">{_esc(st.KOREAN_NAV_LINE)}</div>\n' if korean_nav else ""
    body = (
        f'<body>\n{ko_line}<nav>{_links(nav, "menu")}</nav>\n'
        f'<article><h1>{_esc(title)}</h1>\n<div class="post" itemprop="articleBody">\n{_paragraphs(paragraphs)}\n</div></article>\n'
        f"<footer>{_esc(footer)}</footer>\n</body>\n</html>\n"
    )
    return title, _head(f"{title} | {site}", "utf-8", lang=lang) + body


def spam_page(rng: random.Random) -> tuple[str, str]:
    title = rng.choice(st.SPAM_TITLES)
    lines = [rng.choice(st.SPAM_LINES) for _ in range(rng.randint(6, 14))]
    links = [rng.choice(st.SPAM_LINK_TEXTS) for _ in range(rng.randint(10, 25))]
    body = (
        "<body>\n"
        f'<div class="banner"><a href="/go">{_esc(title)}</a></div>\n'
        f'<h1>{_esc(title)}</h1>\n<div class="content">\n{_paragraphs(lines)}\n</div>\n'
        f'<div class="tags">{" ".join(f"<a href=/tag/{i}>{_esc(t)}</a>" for i, t in enumerate(links))}</div>\n'
        "</body>\n</html>\n"
    )
    return title, _head(title, "utf-8") + body


def symbols_page(rng: random.Random) -> tuple[str, str]:
    rows = ["".join(rng.choice(st.SYMBOL_ALPHABET) for _ in range(rng.randint(40, 90))) for _ in range(12)]
    return "■■■", _head("■■■", "utf-8") + f"<body>\n{_paragraphs(rows)}\n</body>\n</html>\n"
