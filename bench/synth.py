"""A synthetic decade of nightly checks, recorded through the real path (``schedules.job.run_check``).

The simulated site is the Building Trust page as a CMS would serve it for ten years:

- ~40 KB pages with realistic chrome (inline CSS, analytics script, mega menu, search form,
  sidebar Spotlight, footer, trailing scripts), served byte-identical on nights nothing changes;
- a content change every ~25 nights: publications added (the pool of ``publications`` distinct ones
  is used up over the run), removed (older ones fall off the bottom), brought back, retitled,
  re-described, moved to another URL form of the same COPS id, reordered; Spotlight and intro edits;
- occasional large redesigns: the listing markup and the chrome change, the content does not;
- small chrome changes (a cache-busting stamp) that change the bytes but not the content;
- rare failed nights (HTTP 503).

Every night's HTML goes through an ``httpx.Client`` over an ``httpx.MockTransport`` and
``run_check(..., clock=)`` with the simulated night, so the archive is exactly what copswatch would
have written. After every parsed night the recorded listing is compared with the truth the page was
generated from (``stats["mismatches"]``), so the generator doubles as a long-run parser check.

``simulate()`` yields the nights without touching an archive (the urlwatch comparison replays them).
Deterministic for a seed.

    python -m bench.synth PATH [--nights N] [--seed S] [--volatile]
"""

import argparse
import html
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import httpx

from schedules.job import run_check
from storage.archive import Archive, Outcome

URL = "https://cops.usdoj.gov/buildingtrust"
TARGET = "buildingtrust"
NIGHT0 = datetime(2016, 1, 4, 3, 0, tzinfo=UTC)
LAYOUTS = ("p-br", "list-br", "views-rows", "cards", "heading-p", "table")

# -- the words the page is written in ----------------------------------------------------------------

SUBJECTS = (
    "Community Policing", "Procedural Justice", "Police Legitimacy", "Civilian Oversight", "Bias Reduction",
    "Racial Reconciliation", "Officer Wellness", "Use of Force", "Body-Worn Cameras", "Crisis Intervention",
    "Youth Engagement", "Problem-Oriented Policing", "Early Intervention Systems", "Internal Affairs",
    "Citizen Complaints", "Community Trust", "Police Accountability", "De-escalation", "School Safety",
    "Recruitment and Hiring", "Field Training", "Mental Health Response", "Victim Services",
    "Tribal Law Enforcement", "Rural Policing", "Campus Safety", "Homelessness Response",
    "Collaborative Reform", "Data-Driven Policing", "Implicit Bias", "Language Access", "Peer Support",
)
FORMS = (
    "A Guide for {aud}", "Lessons Learned from {ctx}", "Promising Practices in {ctx}", "Final Report",
    "An Executive Session Summary", "A Resource Guide for {aud}", "Findings from {ctx}",
    "A Toolkit for {aud}", "Case Studies from {ctx}", "Key Considerations for {aud}",
)
AUDIENCES = (
    "Police Executives", "Law Enforcement Leaders", "Community Members", "First-Line Supervisors",
    "Small and Rural Agencies", "Police and Community Leaders", "Mayors and City Managers",
    "Training Academies", "Sheriffs' Offices", "Campus Police Departments",
)
CONTEXTS = (
    "Microgrant Sites", "Major Cities", "the Field", "Twelve Jurisdictions", "the 2015 Task Force",
    "Collaborative Reform Sites", "Pilot Agencies", "a National Survey", "Tribal Communities",
    "Mid-Sized Departments",
)
VERBS = (
    "Examines", "Discusses", "Describes", "Assesses", "Highlights", "Details", "Summarizes", "Explores",
    "Presents", "Documents", "Outlines", "Reviews",
)
OBJECTS = (
    "the successes and challenges of", "strategies for", "the implementation and evaluation of",
    "the direct and indirect benefits of", "lessons from agencies engaged in", "the role of supervisors in",
    "community perceptions of", "policies and training related to", "the costs and outcomes of",
    "research on", "practical steps toward", "barriers to",
)
TOPICS = tuple(s.lower() for s in SUBJECTS) + (
    "police/citizen mediation programs", "officer safety and wellness", "transparency initiatives",
    "partnerships with faith-based organizations", "community advisory boards", "complaint intake",
    "performance measures for community policing", "stop data analysis", "crime prevention through design",
)
CLOSINGS = (
    "as well as how to overcome obstacles such as resistance from officers and residents",
    "drawing on interviews with practitioners, researchers, and community advocates",
    "with checklists, sample policies, and suggested performance measures",
    "including recommendations for agencies of every size",
    "and identifies gaps that future research should address",
    "based on site visits conducted between {y1} and {y2}",
    "for agencies seeking to strengthen relationships with the communities they serve",
    "with a foreword by the Director of the COPS Office",
    "and the \u201cfive pillars\u201d that emerged from practitioners\u2019 discussions",
)


def _sentence(rng: random.Random) -> str:
    y1 = rng.randrange(2005, 2020)
    closing = rng.choice(CLOSINGS).format(y1=y1, y2=y1 + rng.randrange(1, 4))
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TOPICS)}, {closing}."


def _description(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.choice((1, 1, 2, 2, 3))))


def _title(rng: random.Random) -> str:
    form = rng.choice(FORMS).format(aud=rng.choice(AUDIENCES), ctx=rng.choice(CONTEXTS))
    if rng.random() < 0.15:
        return f"COPS Evaluation Brief No. {rng.randrange(1, 40)}: {rng.choice(SUBJECTS)}"
    return f"{rng.choice(SUBJECTS)}: {form}"


# -- publications -----------------------------------------------------------------------------------

# How one CMS writes links to the same COPS publication over the years (same id, different URL).
URL_FORMS = (
    "https://portal.cops.usdoj.gov/resourcecenter/content.ashx/{id}-pub.pdf",
    "https://portal.cops.usdoj.gov/resourcecenter/ric/Publications/{id}-pub.pdf",
    "/RIC/Publications/{id}-pub.pdf",
    "https://portal.cops.usdoj.gov/resourcecenter/Home.aspx?item={id}",
)


@dataclass(frozen=True)
class Pub:
    cops_id: str | None  # "cops-p241"; None for a plain page link (its key is its URL)
    title: str
    description: str
    form: int = 0  # index into URL_FORMS
    slug: str = ""

    @property
    def href(self) -> str:
        return URL_FORMS[self.form].format(id=self.cops_id) if self.cops_id else f"/{self.slug}"

    @property
    def url(self) -> str:
        return urljoin(URL, self.href)

    @property
    def key(self) -> str:
        return self.cops_id or self.url


def _pool(rng: random.Random, size: int) -> list[Pub]:
    pubs, ids = [], set()
    while len(pubs) < size:
        if rng.random() < 0.08:
            slug = f"{rng.choice(SUBJECTS).lower().replace(' ', '').replace('-', '')}{rng.randrange(10, 99)}"
            if slug in ids:
                continue
            ids.add(slug)
            pubs.append(Pub(None, _title(rng), _description(rng), slug=slug))
            continue
        cops_id = f"cops-{rng.choice('pppw')}{rng.randrange(100, 1200):0{rng.choice((3, 4))}d}"
        if cops_id in ids:
            continue
        ids.add(cops_id)
        pubs.append(Pub(cops_id, _title(rng), _description(rng), form=rng.randrange(len(URL_FORMS))))
    return pubs


# -- the page ---------------------------------------------------------------------------------------


@dataclass
class State:
    listing: list[Pub]
    spotlight: list[tuple[str, str, str]]  # (href, image, alt)
    intro: list[str]
    layout: int = 0
    theme: int = 0  # chrome generation: changes with each redesign
    stamp: int = 20160104  # cache-busting stamp in asset URLs
    token: str = ""  # per-request tokens (only with volatile=True)


INTRO = [
    "Building trust with the community is fundamental to effective policing. Sound conduct by police "
    "improves community interactions, enhances communication, and promotes shared responsibility for "
    "addressing crime and disorder.",
    "Police departments can repair and strengthen community relationships by understanding and training "
    "officers on three key concepts: procedural justice, bias reduction, and racial reconciliation. "
    "Together and when implemented, these concepts create an environment in which effective partnerships "
    "between the police and citizens can flourish. The COPS Office provides these resources to ensure "
    "building trust is embedded in the culture of policing.",
]
MENU = {
    "About": ["Director's Message", "Leadership", "Budget and Performance", "Careers", "History", "FAQ"],
    "Grants": ["Current Funding Opportunities", "Grant Resources", "Grant Owner's Manuals", "Awards",
               "Hiring Program", "Community Policing Development", "Tribal Resources Grant Program",
               "School Violence Prevention Program", "Law Enforcement Mental Health and Wellness Act"],
    "Resources": ["Publications", "Community Policing Dispatch", "Podcasts", "Videos", "Webinars",
                  "Resource Center", "Ordering Information", "Spanish-Language Resources"],
    "Topics": ["Building Trust", "Community Policing Defined", "Crime Prevention", "Officer Safety and Wellness",
               "Police-Mental Health Collaboration", "School Safety", "Tribal Policing", "Violent Crime",
               "Recruitment and Retention", "Technology", "Procedural Justice", "De-escalation"],
    "Training": ["Regional Community Policing Institutes", "Collaborative Reform", "Critical Response",
                 "Technical Assistance Center", "Online Training"],
    "News": ["Press Releases", "Newsletter", "Events", "Media Contacts"],
    "Research": ["Research and Evaluation", "Data", "Microgrants", "Reports to Congress"],
}
FOOTER = ("Privacy Policy", "FOIA", "Accessibility", "Legal Policies & Disclaimers", "No FEAR Act",
          "Information Quality", "Vulnerability Disclosure", "Budget & Performance", "USA.gov", "Justice.gov",
          "Office of the Inspector General", "Plain Writing", "Archive", "Open Government")
RELATED = ("Procedural Justice", "Implicit Bias", "Collaborative Reform", "Civilian Oversight",
           "Community Engagement", "Officer Safety and Wellness", "Crisis Intervention Teams",
           "Early Intervention Systems", "Police-Community Relations", "Youth and Police")


def _slug(text: str) -> str:
    return "".join(c for c in text.lower().replace(" ", "-") if c.isalnum() or c == "-")


def _css(theme: int) -> str:
    colors = ("#003366", "#112e51", "#1a4480", "#0b4778", "#162e51", "#00264d")
    primary = colors[theme % len(colors)]
    rules = []
    for i, (sel, body) in enumerate((
        ("body", 'font-family: "Source Sans Pro", Helvetica, Arial, sans-serif; margin: 0; color: #1b1b1b;'),
        (".visually-hidden", "position: absolute !important; clip: rect(1px, 1px, 1px, 1px); overflow: hidden;"),
        (".skip-link:focus", "position: static !important; clip: auto; height: auto; width: auto;"),
        (".page-title, .sidebar h2", f"text-transform: uppercase; letter-spacing: .04em; color: {primary};"),
        (".breadcrumb", "list-style: none; padding: 0; display: flex; gap: .5em; font-size: .9em;"),
        (".breadcrumb li + li::before", 'content: "\\203A"; padding-right: .5em;'),
        (".main-menu > ul", "list-style: none; display: flex; gap: 1.25em; margin: 0; padding: 0;"),
        (".main-menu .submenu", "display: none; position: absolute; background: #fff; box-shadow: 0 2px 6px #0003;"),
        (".main-menu li:hover .submenu", "display: block; z-index: 100; min-width: 16em; padding: .5em 1em;"),
        (".page-wrapper", "display: grid; grid-template-columns: 3fr 1fr; gap: 2em; max-width: 1200px; margin: 0 auto;"),
        (".sidebar .spotlight img", "max-width: 100%; height: auto; border: 1px solid #ccc;"),
        (".site-footer", f"background: {primary}; color: #fff; padding: 2em;"),
        (".site-footer a", "color: #fff; text-decoration: underline;"),
        (".card", "border: 1px solid #dfe1e2; border-radius: .25rem; padding: 1rem; margin-bottom: 1rem;"),
        (".card-title", "font-size: 1.15rem; margin: 0 0 .5rem;"),
        (".views-row", "border-bottom: 1px solid #dfe1e2; padding: 1em 0;"),
        ("table.publications", "border-collapse: collapse; width: 100%;"),
        ("table.publications td", "padding: .5em; vertical-align: top; border-bottom: 1px solid #eee;"),
        ("@media (max-width: 48em)", "{ .page-wrapper { grid-template-columns: 1fr; } .main-menu > ul { flex-direction: column; } }"),
    )):
        rules.append(f"    {sel} {{ {body} }}" if not sel.startswith("@") else f"    {sel} {body}")
    return "\n".join(rules)


def _entry(layout: str, pub: Pub) -> str:
    href, title, desc = html.escape(pub.href), html.escape(pub.title), html.escape(pub.description)
    if layout == "p-br":
        return (f'        <p><strong><a href="{href}">{title}</a></strong>&nbsp;<br>\n'
                f"        {desc}</p>\n")
    if layout == "list-br":
        return f'        <li><a href="{href}">{title}</a><br>\n          {desc}</li>\n'
    if layout == "views-rows":
        return (f'        <div class="views-row">\n'
                f'          <div class="views-field views-field-title"><span class="field-content">'
                f'<a href="{href}" hreflang="en">{title}</a></span></div>\n'
                f'          <div class="views-field views-field-body"><div class="field-content">{desc}</div></div>\n'
                f"        </div>\n")
    if layout == "cards":
        return (f'        <li class="card">\n'
                f'          <h3 class="card-title"><a href="{href}">{title}</a></h3>\n'
                f'          <p class="card-text">{desc}</p>\n'
                f"        </li>\n")
    if layout == "heading-p":
        return f'        <h3><a href="{href}">{title}</a></h3>\n        <p>{desc}</p>\n'
    if layout == "table":
        return (f'          <tr class="title-row"><td><a href="{href}">{title}</a></td></tr>\n'
                f'          <tr class="desc-row"><td>{desc}</td></tr>\n')
    raise ValueError(layout)


LISTING_WRAPPERS = {
    "p-br": ('      <div class="body-content">\n', "      </div>\n"),
    "list-br": ('      <ul class="publications">\n', "      </ul>\n"),
    "views-rows": ('      <div class="view view-publications"><div class="view-content">\n', "      </div></div>\n"),
    "cards": ('      <ul class="card-list">\n', "      </ul>\n"),
    "heading-p": ('      <div class="listing">\n', "      </div>\n"),
    "table": ('      <table class="publications">\n        <thead><tr><th scope="col">Publication</th></tr></thead>\n'
              "        <tbody>\n", "        </tbody>\n      </table>\n"),
}


def render(state: State) -> bytes:
    layout = LAYOUTS[state.layout % len(LAYOUTS)]
    v = state.stamp
    menu = []
    for top, items in MENU.items():
        sub = "".join(f'            <li><a href="/{_slug(top)}/{_slug(i)}">{html.escape(i)}</a></li>\n' for i in items)
        menu.append(f'        <li class="menu-item"><a href="/{_slug(top)}">{top}</a>\n'
                    f'          <ul class="submenu">\n{sub}          </ul>\n        </li>\n')
    start, end = LISTING_WRAPPERS[layout]
    entries = "".join(_entry(layout, p) for p in state.listing)
    intro = "".join(f"      <p>{html.escape(p)}</p>\n" for p in state.intro)
    spotlight = "".join(
        f'        <p><a href="{html.escape(h)}"><img src="{html.escape(img)}" alt="{html.escape(alt)}" '
        f'width="250" height="140"></a>&nbsp;&nbsp;</p>\n'
        for h, img, alt in state.spotlight
    )
    related = "".join(f'          <li><a href="/{_slug(r)}">{r}</a></li>\n' for r in RELATED)
    footer = "".join(f'          <li><a href="https://www.justice.gov/{_slug(f)}">{html.escape(f)}</a></li>\n'
                     for f in FOOTER)
    token = state.token or "8f0c2a7e-5d41-4b9e-a3c6-91d2e7f04b1a"
    page = f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="Building trust with the community is fundamental to effective policing.">
  <meta name="generator" content="Drupal {8 + state.theme} (https://www.drupal.org)">
  <title>Building Trust | COPS OFFICE</title>
  <link rel="canonical" href="{URL}">
  <link rel="icon" href="/favicon.ico" type="image/vnd.microsoft.icon">
  <link rel="stylesheet" media="all" href="/core/themes/stable/css/system.base.css?v={v}">
  <link rel="stylesheet" media="all" href="/themes/custom/cops{state.theme}/css/cops-main.css?v={v}">
  <link rel="stylesheet" media="print" href="/themes/custom/cops{state.theme}/css/print.css?v={v}">
  <style>
{_css(state.theme)}
  </style>
  <script>
    window.dataLayer = window.dataLayer || [];
    window.dataLayer.push({{"event": "pageview", "requestToken": "{token}", "contentGroup": "topics",
      "siteSection": "building-trust", "theme": "cops{state.theme}"}});
  </script>
  <script async type="text/javascript" id="_fed_an_ua_tag" src="https://dap.digitalgov.gov/Universal-Federated-Analytics-Min.js?agency=DOJ&amp;subagency=COPS"></script>
</head>
<body class="page-node-type-topic path-buildingtrust theme-{state.theme}">
  <a href="#main-content" class="skip-link visually-hidden">Skip to main content</a>
  <section class="usa-banner" aria-label="Official government website">
    <p>An official website of the United States government. <a href="https://www.usa.gov/website-guide">Here's how you know</a></p>
    <p>Official websites use .gov. A .gov website belongs to an official government organization in the United States.
    Secure .gov websites use HTTPS. A lock or https:// means you've safely connected to the .gov website.</p>
  </section>
  <header class="site-header" role="banner">
    <div class="site-branding">
      <a href="/" title="Home" rel="home" class="site-logo"><img src="/themes/custom/cops{state.theme}/logo.svg?v={v}" alt="COPS Office: Community Oriented Policing Services, U.S. Department of Justice" width="320" height="64"></a>
    </div>
    <form class="site-search" role="search" action="/search" method="get" accept-charset="UTF-8">
      <label for="search-query" class="visually-hidden">Search the COPS Office website</label>
      <input type="search" id="search-query" name="query" placeholder="Search COPS" maxlength="128">
      <input type="hidden" name="form_token" value="{token[:22]}">
      <button type="submit">Search</button>
    </form>
    <nav class="main-menu" aria-label="Main menu">
      <ul>
{"".join(menu)}      </ul>
    </nav>
  </header>
  <div class="page-wrapper">
    <main id="main-content" role="main">
      <nav aria-label="Breadcrumb">
        <ol class="breadcrumb">
          <li><a href="/">Home</a></li>
          <li><a href="/topics">Topics</a></li>
          <li aria-current="page">Building Trust</li>
        </ol>
      </nav>
      <h1 class="page-title">Building Trust</h1>
{intro}{start}{entries}{end}    </main>
    <aside class="sidebar">
      <div class="spotlight" aria-labelledby="spotlight-heading">
        <h2 id="spotlight-heading">Spotlight</h2>
{spotlight}      </div>
      <div class="related-topics">
        <h2>Related Topics</h2>
        <ul>
{related}        </ul>
      </div>
    </aside>
  </div>
  <footer class="site-footer" role="contentinfo">
    <div class="footer-contact">
      <p class="footer-address">U.S. Department of Justice<br>Office of Community Oriented Policing Services<br>
      145 N Street NE<br>Washington, DC 20530</p>
      <p><a href="https://www.justice.gov/doj/webform/your-message-department-justice">Contact the Department</a><br>
      <a href="tel:+18004216770">800-421-6770</a></p>
      <p><a href="https://public.govdelivery.com/accounts/USDOJCOPS/subscriber/new">Signup for Email Updates</a></p>
    </div>
    <nav class="footer-menu" aria-label="Footer">
      <ul>
{footer}      </ul>
    </nav>
  </footer>
  <script src="/core/assets/vendor/jquery/jquery.min.js?v=3.{state.theme}.1"></script>
  <script src="/themes/custom/cops{state.theme}/js/cops.js?v={v}"></script>
  <script>
    (function ($) {{
      // Open PDFs in a new tab and record the download.
      $('a[href$=".pdf"]').attr('target', '_blank').on('click', function () {{
        window.dataLayer.push({{"event": "download", "href": this.href}});
      }});
      $('.main-menu .menu-item').on('focusin mouseenter', function () {{ $(this).addClass('open'); }})
        .on('focusout mouseleave', function () {{ $(this).removeClass('open'); }});
    }})(jQuery);
  </script>
</body>
</html>
"""
    return page.encode("utf-8")


# -- the decade -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Night:
    index: int
    when: datetime
    kind: str  # first | content | redesign | chrome | same | failure
    body: bytes | None  # None on a failed night
    truth: tuple[tuple[str, str, str, str], ...] = ()  # (key, title, url, description) in page order
    notes: tuple[str, ...] = field(default=())  # what changed, for people reading a mismatch


def simulate(nights: int = 3650, seed: int = 1, *, publications: int = 400, listed: int = 66,
             change_every: float = 25.0, redesigns: int = 5, failure_rate: float = 0.005,
             volatile: bool = False) -> Iterator[Night]:
    """Yield every night of the simulated site, deterministically for ``seed``.

    ``listed`` is how many publications the page shows at most (older ones fall off the bottom);
    ``volatile`` puts a fresh request token in every night's chrome, as some CMSs do.
    """
    rng = random.Random(seed)
    pool = _pool(rng, publications)
    fresh = pool[listed:]
    fresh.reverse()  # pop() takes them in pool order
    state = State(listing=pool[:listed], intro=list(INTRO), spotlight=[
        ("https://cops.usdoj.gov/collaborativereform", "/images/spotlight/collaborative-reform.jpg", "Collaborative Reform Initiative"),
        ("/cpdispatch", "/images/spotlight/dispatch.png", "Community Policing Dispatch"),
        ("https://portal.cops.usdoj.gov/resourcecenter/content.ashx/cops-w0753-pub.pdf", "/images/spotlight/pj.jpg", "Procedural Justice for Law Enforcement"),
    ])
    removed: list[Pub] = []
    redesign_nights = set(rng.sample(range(nights // 10, nights), min(redesigns, max(0, nights - nights // 10))))
    next_change = 1 + round(rng.expovariate(1 / change_every))
    next_chrome = 1 + rng.randrange(60, 200)
    body = render(state)
    for n in range(nights):
        when = NIGHT0 + timedelta(days=n, seconds=rng.randrange(0, 90))
        if n == 0:
            yield Night(n, when, "first", body, _truth(state))
            continue
        kind, notes = "same", ()
        if n in redesign_nights:
            state.layout += 1
            state.theme += 1
            kind, notes = "redesign", (f"layout {LAYOUTS[state.layout % len(LAYOUTS)]}",)
        elif n >= next_change:
            remaining_changes = max(1.0, (nights - n) / change_every)
            notes = _change(rng, state, fresh, removed, listed, len(fresh) / remaining_changes)
            kind = "content"
            next_change = n + 1 + round(rng.expovariate(1 / change_every))
        elif n >= next_chrome:
            state.stamp += rng.randrange(1, 400)
            kind, notes = "chrome", ("asset stamp",)
            next_chrome = n + rng.randrange(60, 200)
        if volatile:
            state.token = f"{rng.getrandbits(128):032x}"
        if kind != "same" or volatile:
            body = render(state)
        if rng.random() < failure_rate:
            yield Night(n, when, "failure", None)
            continue
        yield Night(n, when, kind, body, _truth(state), notes)


def _truth(state: State) -> tuple:
    return tuple((p.key, p.title, p.url, p.description) for p in state.listing)


def _change(rng, state: State, fresh: list[Pub], removed: list[Pub], listed: int, adds_due: float) -> tuple:
    """Apply one night's content change to ``state``; return what was done."""
    notes = []
    ops = ["describe", "retitle", "move", "remove", "reappear", "reorder", "spotlight", "intro"]
    weights = [14, 8, 8, 7, 4, 4, 3, 2]
    k = int(adds_due) + (rng.random() < adds_due - int(adds_due))
    # Short simulations would otherwise push most of the listing off in one night: a real site
    # never does, and the anomaly guard rightly holds such a page until a second night confirms it.
    k = min(k, listed // 3)
    if k and fresh:
        for _ in range(min(k, len(fresh))):
            pub = fresh.pop()
            state.listing.insert(rng.choice((0, 0, 0, 1, 2, rng.randrange(len(state.listing) + 1))), pub)
            notes.append(f"add {pub.key}")
        while len(state.listing) > listed:
            removed.append(state.listing.pop())
            notes.append(f"falls off {removed[-1].key}")
        if rng.random() < 0.6:
            return tuple(notes)
    op = rng.choices(ops, weights)[0]
    listing = state.listing
    i = rng.randrange(len(listing))
    if op == "describe":
        pub = listing[i]
        description = (pub.description[: rng.randrange(40, max(41, len(pub.description)))].rstrip() + ". "
                       + _sentence(rng)) if rng.random() < 0.5 else _description(rng)
        listing[i] = replace(pub, description=description)
    elif op == "retitle":
        pub = listing[i]
        title = pub.title.replace(":", " \u2013", 1) if ":" in pub.title and rng.random() < 0.5 else _title(rng)
        listing[i] = replace(pub, title=title)
    elif op == "move":
        candidates = [j for j, p in enumerate(listing) if p.cops_id]
        i = rng.choice(candidates)
        pub = listing[i]
        listing[i] = replace(pub, form=(pub.form + rng.randrange(1, len(URL_FORMS))) % len(URL_FORMS))
    elif op == "remove" and len(listing) > 10:
        removed.append(listing.pop(i))
        i = None
        notes.append(f"remove {removed[-1].key}")
    elif op == "reappear" and removed:
        pub = removed.pop(rng.randrange(len(removed)))
        listing.insert(rng.randrange(len(listing) + 1), pub)
        notes.append(f"reappear {pub.key}")
        i = None
    elif op == "reorder":
        j = (i + rng.randrange(1, len(listing))) % len(listing)
        listing[i], listing[j] = listing[j], listing[i]
    elif op == "spotlight":
        subject = rng.choice(SUBJECTS)
        state.spotlight[rng.randrange(len(state.spotlight))] = (
            f"/{_slug(subject)}", f"/images/spotlight/{_slug(subject)}.jpg", subject)
    elif op == "intro":
        state.intro[-1] = state.intro[-1].rsplit(". ", 1)[0] + ". " + _sentence(rng)
    else:  # an op that can't apply tonight: edit a description instead
        op = "describe"
        listing[i] = replace(listing[i], description=_description(rng))
    if i is not None and op in ("describe", "retitle", "move", "reorder"):
        notes.append(f"{op} {listing[i].key}")
    else:
        notes.append(op)
    return tuple(notes)


# -- recording it -----------------------------------------------------------------------------------


def check(archive: Archive, body: bytes | None, when: datetime, *, url: str = URL, target: str = TARGET):
    """One night through the real path: ``run_check`` over a MockTransport serving ``body`` (None: 503)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(503, text="Service Unavailable")
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html; charset=utf-8"})

    with httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True) as client:
        return run_check(archive, client, target, url, clock=lambda: when)


def db_bytes(path: str | os.PathLike) -> int:
    """The archive's size with its WAL checkpointed into the main file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return os.path.getsize(path)


def build_archive(path: str | os.PathLike, nights: int = 3650, seed: int = 1, *,
                  on_night: Callable | None = None, fast_io: bool = True, **options) -> dict:
    """Record ``nights`` simulated nights into a new archive at ``path``; return what happened.

    ``options`` go to ``simulate()``. ``on_night(night, result, archive)`` is called after every
    night. ``fast_io`` turns off fsync (``PRAGMA synchronous = OFF``) for speed: it changes no byte
    of the file, only durability against power loss during the simulation.
    """
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists; the simulation writes a new archive")
    started = time.perf_counter()
    outcomes: dict[str, int] = {}
    kinds: dict[str, int] = {}
    sizes, mismatches = [], []
    raw_bytes = 0
    with Archive(path) as archive:
        if fast_io:
            archive.conn.execute("PRAGMA synchronous = OFF")
        for night in simulate(nights, seed, **options):
            result = check(archive, night.body, night.when)
            outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
            kinds[night.kind] = kinds.get(night.kind, 0) + 1
            if night.body is not None:
                raw_bytes += len(night.body)
                sizes.append(len(night.body))
                if night.kind != "same" and result.version_id is not None:
                    recorded = tuple((p.key, p.title, p.url, p.description) for p in archive.listing(result.version_id))
                    if recorded != night.truth:
                        mismatches.append({"night": night.index, "kind": night.kind, "notes": night.notes,
                                           "outcome": str(result.outcome)})
                if night.kind == "content" and result.outcome is not Outcome.CHANGED:
                    mismatches.append({"night": night.index, "kind": night.kind, "notes": night.notes,
                                       "outcome": str(result.outcome)})
            if on_night:
                on_night(night, result, archive)
        counts = {table: archive.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("checks", "versions", "bodies", "publications", "publication_revisions", "events")}
        stored_body_bytes = archive.conn.execute("SELECT SUM(LENGTH(content)), SUM(size) FROM bodies").fetchone()
    return {
        "path": str(path),
        "nights": nights,
        "seed": seed,
        "nights_by_kind": kinds,
        "checks_by_outcome": outcomes,
        **{f"{table}_rows": n for table, n in counts.items()},
        "page_bytes": {"min": min(sizes), "median": int(statistics.median(sizes)), "max": max(sizes)} if sizes else None,
        "raw_html_bytes_every_night": raw_bytes,
        "distinct_body_bytes_raw": stored_body_bytes[1],
        "distinct_body_bytes_stored": stored_body_bytes[0],
        "db_bytes": db_bytes(path),
        "mismatches": len(mismatches),
        "first_mismatches": mismatches[:5],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synth", description=__doc__.split("\n")[0])
    parser.add_argument("path", help="the archive file to create (must not exist)")
    parser.add_argument("--nights", type=int, default=3650)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--publications", type=int, default=400, help="distinct publications over the run")
    parser.add_argument("--volatile", action="store_true", help="a fresh request token in every night's chrome")
    args = parser.parse_args(argv)
    try:
        stats = build_archive(args.path, args.nights, args.seed, publications=args.publications,
                              volatile=args.volatile)
    except FileExistsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(stats, indent=2))
    return 1 if stats["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
