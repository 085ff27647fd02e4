"""report.html in a real headless Chromium: loads cleanly, shows the diagram and findings,
and a model full of HTML/JS payloads executes nothing.

Chromium's own --dump-dom prints the DOM after the page's scripts ran; --enable-logging
prints every console message (errors, CSP violations) on stderr. A calibration test checks
that this capture really sees console errors and CSP violations, so the "no console
messages" assertions cannot pass by accident. Skips only when chromium is not installed
(CI installs Debian's chromium: see .ci/run).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_support import ASSISTANT, HAVE_RENDERER, HOSTILE, report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

CONSOLE = re.compile(r":CONSOLE[:(]")


def browse(page: Path, tmp_path: Path, fragment: str = "") -> tuple[str, list[str]]:
    """(the DOM after load, the console messages) of a local page."""
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        # any network access would fail loudly instead of leaving the machine; loopback stays
        # reachable so that the tests' own server can see every request a page makes
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.resolve().as_uri() + fragment,
    ]
    proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err[-2000:]
    console = [ln for ln in err.splitlines() if CONSOLE.search(ln)]
    return proc.stdout.decode("utf-8", "replace"), console


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    code, _, stderr = report(out, ASSISTANT, HOSTILE)
    assert code == 1, stderr
    return out


def _findings(reports: Path, model: str) -> list[dict]:  # type: ignore[type-arg]
    doc = json.loads((reports / model / "findings.json").read_text())
    findings: list[dict] = doc["findings"]  # type: ignore[type-arg]
    return findings


def _tags(dom: str) -> list[tuple[str, dict[str, str]]]:
    """Every element of a DOM dump with its attributes."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str]]] = []

    class P(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, {k: v or "" for k, v in attrs}))

    P().feed(dom)
    return found


def _title(dom: str) -> str:
    m = re.search(r"<head>.*?<title>(.*?)</title>", dom, flags=re.S)
    assert m, "no title"
    return html.unescape(m.group(1))


def test_calibration_console_errors_and_csp_violations_are_seen(tmp_path: Path) -> None:
    page = tmp_path / "calib.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'sha256-AAAA'\"><title>t</title></head>"
        "<body><script>document.title='ran'</script><img src='data:,x'></body></html>"
    )
    dom, console = browse(page, tmp_path)
    assert _title(dom) == "t"  # the CSP blocked the script
    assert any("Content Security Policy" in c for c in console)
    page.write_text("<!DOCTYPE html><title>t</title><script>nope();</script>")
    _, console = browse(page, tmp_path)
    assert any("Uncaught ReferenceError" in c for c in console)


@pytest.mark.parametrize("model", ["support-assistant", "hostile"])
def test_page_loads_cleanly_with_diagram_and_findings(
    reports: Path, tmp_path: Path, model: str
) -> None:
    dom, console = browse(reports / model / "report.html", tmp_path)
    assert console == []  # no error, no CSP violation, no log line at all
    assert 'data-tg-ready="1"' in dom  # our script ran to its end
    if HAVE_RENDERER:
        assert 'id="tg-svg"' in dom and "<svg" in dom
        assert len(re.findall(r'<g id="el_n\d+" class="node"', dom)) >= 5
    else:
        assert 'id="tg-no-svg"' in dom
    findings = _findings(reports, model)
    articles = re.findall(r'<article class="finding [a-z]+" id="f-\d+"([^>]*)>', dom)
    assert len(articles) == len(findings) > 0
    assert all(" hidden" not in a for a in articles)  # every filter starts checked
    assert f'Showing <span id="tg-shown">{len(findings)}</span>' in dom


def test_hostile_payloads_execute_nothing(reports: Path, tmp_path: Path) -> None:
    dom, console = browse(reports / "hostile" / "report.html", tmp_path)
    assert console == []
    assert _title(dom).startswith("Threat model: <script>document.title='PWNED'</script>")
    assert "<pwned" not in dom.lower()
    # no element from the model: the one <script> is ours, and no handler attributes
    tags = _tags(dom)
    assert [t for t, _ in tags].count("script") == 1
    assert not {t for t, _ in tags} & {"img", "iframe", "pwned", "object", "embed"}
    assert [t for t, _ in tags].count("style") == 1
    for tag, attrs in tags:
        assert not any(a.startswith("on") for a in attrs), (tag, attrs)
        assert "javascript:" not in (attrs.get("href") or ""), (tag, attrs)
    for name in ("</script><script>document.title='PWNED'</script>", "Ünïcødé 模型 🚀"):
        assert html.escape(name, quote=False) in dom


def test_fragment_selects_an_element_and_filters(reports: Path, tmp_path: Path) -> None:
    findings = _findings(reports, "hostile")
    page = reports / "hostile" / "report.html"
    assert any(f["status"] == "open" and f["element"] == "llm" for f in findings)
    src = page.read_text()
    sid = re.search(r'data-el="(n\d+)" data-name="&lt;/script&gt;', src)
    assert sid, "the LLM's element button"
    dom, console = browse(page, tmp_path, f"#el={sid.group(1)}&status=open")
    assert console == []
    panel = re.search(r'<div class="selection" id="tg-selection"([^>]*)>(.*?)</div>', dom, re.S)
    assert panel and "hidden" not in panel.group(1)
    assert "&lt;/script&gt;&lt;script&gt;document.title='PWNED'" in panel.group(2)
    shown = re.findall(r'<article class="finding [a-z]+" id="f-\d+" ([^>]*)>', dom)
    visible = [a for a in shown if " hidden" not in a]
    assert len(shown) == len(findings) and 0 < len(visible) < len(shown)
    for a in visible:
        assert 'data-status="open"' in a
        assert re.search(rf'data-elements="[^"]*\b{sid.group(1)}\b', a)
    on = [a for t, a in _tags(dom) if t == "button" and a.get("aria-pressed") == "true"]
    assert [a["data-el"] for a in on] == [sid.group(1)]
    # a threat's section (and the closed findings' one) shows only with a finding to show
    groups = re.findall(
        r'<section class="(threat|closed)" data-group="\w+"([^>]*)>(.*?)</section>', dom, re.S
    )
    assert {kind for kind, _, _ in groups} == {"threat", "closed"}
    shown_groups = 0
    for kind, attrs, body in groups:
        inside = re.findall(r'<article class="finding [a-z]+" id="f-\d+" ([^>]*)>', body)
        assert inside
        showing = [a for a in inside if " hidden" not in a]
        assert ("hidden" in attrs) == (not showing), (kind, attrs)
        shown_groups += bool(showing)
        if kind == "closed":
            assert not showing  # status=open
    assert 0 < shown_groups < len(groups)


def test_index_page_loads_cleanly(reports: Path, tmp_path: Path) -> None:
    dom, console = browse(reports / "index.html", tmp_path)
    assert console == []
    assert 'href="hostile/report.html"' in dom and 'href="support-assistant/report.html"' in dom


# -- nothing is fetched: a loopback server that must never see a request -------------------
def _loopback_payloads(base: str) -> list[str]:
    """Names that would make a browser fetch ``base`` if they ever became markup."""
    return [
        f'<img src="{base}/img">',
        f"<script src='{base}/script.js'></script>",
        f'<link rel="stylesheet" href="{base}/style.css">',
        f'<iframe src="{base}/frame"></iframe>',
        f'<object data="{base}/object"></object>',
        f"<style>@import url({base}/import.css);</style>",
        f'<div style="background:url({base}/bg.png)">x</div>',
        f'<meta http-equiv="refresh" content="0;url={base}/refresh">',
        f"<svg><image href='{base}/svg-image'/></svg>",
        f"<script>fetch('{base}/fetch')</script>",
        f'<video poster="{base}/poster"></video>',
        f'"><img src={base}/attr-breakout>',
    ]


@pytest.fixture
def loopback() -> Any:
    """An HTTP server on 127.0.0.1 that records every request path."""
    import http.server
    import threading

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_calibration_loopback_requests_are_seen(tmp_path: Path, loopback: Any) -> None:
    base, seen = loopback
    page = tmp_path / "calib.html"
    page.write_text(f'<!DOCTYPE html><title>t</title><img src="{base}/calibration">')
    browse(page, tmp_path)
    assert "/calibration" in seen  # the capture works: a page that fetches is caught


@pytest.mark.parametrize("csp", [True, False], ids=["as-shipped", "csp-removed"])
def test_hostile_report_fetches_nothing(tmp_path: Path, loopback: Any, csp: bool) -> None:
    """No request leaves report.html, with its CSP and without it (escaping alone holds)."""
    base, seen = loopback
    names = _loopback_payloads(base)
    kinds = ["actor", "app", "llm", "agent", "tool", "vector_store"]
    elements = [
        {"id": f"e{i}", "kind": kinds[i % len(kinds)], "name": n, "description": n}
        for i, n in enumerate(names)
    ]
    doc = {
        "threatgraph": 1,
        "model": {"id": "loopback", "name": names[0], "description": names[1]},
        "boundaries": [{"id": "b", "name": names[2], "trust": "untrusted"}],
        "data": [{"id": "d", "name": names[3], "classification": "pii"}],
        "elements": [{**e, "boundary": "b"} if i == 0 else e for i, e in enumerate(elements)],
        "flows": [
            {"from": f"e{i}", "to": f"e{i + 1}", "name": names[-1 - i], "data": ["d"]}
            for i in range(len(names) - 1)
        ],
    }
    model = tmp_path / "loopback.json"
    model.write_text(json.dumps(doc))
    out = tmp_path / "out"
    code, _, stderr = report(out, model, extra=("--format", "html"))
    assert code == 1, stderr
    page = out / "loopback" / "report.html"
    if not csp:
        text = page.read_text("utf-8")
        text, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
        assert n == 1
        page.write_text(text, "utf-8")
    dom, console = browse(page, tmp_path)
    assert seen == []
    assert console == []
    assert 'data-tg-ready="1"' in dom  # the page's own script ran to its end
    tags = {t for t, _ in _tags(dom)}
    assert not tags & {"img", "iframe", "object", "link", "video", "image"}
