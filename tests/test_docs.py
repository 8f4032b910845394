"""The documentation site: it builds strictly (no warning) from the checkout, every page of
the navigation renders with its title, the API reference has an entry for every public
name of typedarr and nn, the tutorials hold their executed output and their figures, and
the benchmark pages their charts. A tutorial whose code raises, or a broken link, fails the
strict build (checked on a small site of its own).

The site is built once (the tutorials train small networks: about a minute or two on 2
cores), into a temporary directory, as `bash scripts/docs.sh` builds it.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import nn
import typedarr

ROOT = Path(__file__).resolve().parent.parent
# the mkdocs hooks live beside scripts/docs.sh, outside every package: loaded from their file
_spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py")
assert _spec is not None and _spec.loader is not None
mkdocs_hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mkdocs_hooks)

TITLES = {
    "index.html": "typedarr",
    "guide/arrays.html": "Arrays and the no-broadcast rule",
    "guide/typing.html": "Typing with mypy and pyright",
    "guide/delayed.html": "Delayed arrays and engines",
    "guide/jit.html": "jit and compile_step",
    "guide/benchmarks.html": "Benchmarks",
    "guide/experiments.html": "MNIST and the seeds' experiments",
    "tutorials/index.html": "Tutorials: the seeds, run",
    "tutorials/seed000.html": "Seed 000: batchnorm in the recursive pass",
    "tutorials/seed003.html": "Seed 003: the CNN and per-channel batchnorm",
    "api/typedarr.html": "typedarr API reference",
    "api/nn.html": "nn API reference",
}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of `config` into `site`, as scripts/docs.sh runs it."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(config), "--site-dir", str(site)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=1800, check=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    return out


def text(page: Path) -> str:
    """A page's article as plain text (tags dropped, entities decoded)."""
    source = page.read_text(encoding="utf-8")
    article = source[source.index("<article"):source.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", article))


def test_every_page_renders_with_its_title(site: Path) -> None:
    for page, title in TITLES.items():
        source = html.unescape((site / page).read_text(encoding="utf-8"))
        assert re.search(r'<h1 id="[^"]*">' + re.escape(title), source), page
        assert re.search(r"<title>[^<]*typedarr</title>", source), page


@pytest.mark.parametrize("package", [typedarr, nn], ids=["typedarr", "nn"])
def test_the_api_reference_has_every_public_name(site: Path, package: object) -> None:
    name = package.__name__  # type: ignore[attr-defined]
    source = (site / "api" / f"{name}.html").read_text(encoding="utf-8")
    missing = [n for n in package.__all__  # type: ignore[attr-defined]
               if f'id="{name}.{n}"' not in source]
    assert missing == []
    headings = re.findall(r"<h2 id=[^>]*>([^<]*)", html.unescape(source))
    titles = [title for title, _ in mkdocs_hooks.sections(name)]
    assert [h.strip() for h in headings] == titles  # grouped as __init__ groups them


def test_the_api_reference_shows_signatures_and_examples(site: Path) -> None:
    page = text(site / "api" / "typedarr.html")
    assert "rows_like(v: VectorLike[C], m: MatrixLike[R, Any]) -> DMatrix[R, C]" in \
        re.sub(r"\s+", " ", page).replace("( ", "(").replace(" )", ")")
    assert ">>> rows_like(Vector.zeros(4), Matrix.zeros(3, 2)).shape" in page


def test_the_tutorials_hold_their_executed_output(site: Path) -> None:
    seed000 = text(site / "tutorials" / "seed000.html")
    assert "Batchnorm1d -> Batchnorm1dGradients" in seed000  # printed by the page's code
    assert re.search(r"no batchnorm test accuracy per epoch: ([01]\.\d{3} ?){3}", seed000)
    seed001 = text(site / "tutorials" / "seed001.html")
    pass_, numeric = re.findall(r"dgamma(?: from pass_|, finite differences):\s*\[([^\]]+)\]",
                                seed001)
    assert pass_.split() == numeric.split()  # the backward pass, checked as the page says
    assert "ShapeError: cannot add Tensor4" in text(site / "tutorials" / "seed003.html")
    seed004 = (site / "tutorials" / "seed004.html").read_text(encoding="utf-8")
    assert "<svg" in seed004  # the curves drawn at build time


def test_figures_and_charts_are_present(site: Path) -> None:
    for page, figure in (("tutorials/seed000.html", "seed000_batchnorm.png"),
                         ("tutorials/seed003.html", "seed003_loss.png"),
                         ("tutorials/seed004.html", "seed004_loss.png"),
                         ("guide/experiments.html", "seed000_batchnorm.png")):
        assert f'src="../figures/{figure}"' in (site / page).read_text(encoding="utf-8")
        assert (site / "figures" / figure).is_file()
    benchmarks = (site / "guide" / "benchmarks.html").read_text(encoding="utf-8")
    assert benchmarks.count("<svg") >= 7 + 2  # seven charts beside the theme's icons


def test_a_failing_tutorial_and_a_broken_link_fail_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n```python exec=\"on\"\nraise ValueError(1)\n```\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text("site_name: t\nplugins:\n  - markdown-exec\n"
                      "markdown_extensions:\n  - pymdownx.superfences\n")
    failed = build(config, tmp_path / "site")
    assert failed.returncode != 0 and "ValueError" in failed.stderr
    (docs / "index.md").write_text("# Home\n\n[gone](nowhere.md)\n")
    failed = build(config, tmp_path / "site")
    assert failed.returncode != 0 and "nowhere.md" in failed.stderr


def test_sections_must_match_all(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "# Construct\nfrom ._a import f as f\n\n__all__ = ['f', 'g']\n")
    with pytest.raises(ValueError, match=r"only in __all__ \['g'\]"):
        mkdocs_hooks.sections("pkg", tmp_path)
    (package / "__init__.py").write_text(
        "# Construct\nfrom ._a import f as f\n\n__all__ = ['f']\n")
    assert mkdocs_hooks.sections("pkg", tmp_path) == [("Construct", ["f"])]


def test_the_readme_links_every_page_and_only_existing_ones() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(((?!https?:)[^)#\s]+)(?:#[^)]*)?\)", readme))
    assert [link for link in links if not (ROOT / link).is_file()] == []
    pages = {f"docs/{p}" for p in re.findall(r":\s*(\S+\.md)\s*$",
                                              (ROOT / "mkdocs.yml").read_text(), re.M)}
    pages |= {f"docs/{p}" for p in re.findall(r"^\s*-\s*(\S+\.md)\s*$",
                                               (ROOT / "mkdocs.yml").read_text(), re.M)}
    assert len(pages) > 20
    unlinked = sorted(pages - links - {"docs/tutorials/index.md"})  # README links each seed's
    assert unlinked == []
    assert len(readme.splitlines()) < 200


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (as a reader's browser gets it)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # no line per request in the test output

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("page", "shows"), [
    ("index.html", "typedarr"),
    ("tutorials/seed003.html", "Seed 003"),
    ("api/typedarr.html", "rows_like"),
])
def test_pages_render_in_headless_chromium(served: str, page: str, shows: str,
                                           tmp_path: Path) -> None:
    """A reader's view: Chromium renders the page (its DOM after scripts ran holds the
    title and the content) and its screenshot is a picture, not a blank page."""
    chromium = shutil.which("chromium")
    assert chromium is not None, "Debian's chromium: scripts/setup.sh installs it"
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", f"{served}/{page}"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert shows in html.unescape(re.sub(r"<[^>]+>", " ", dom))
    assert 'class="md-header' in dom and "md-nav" in dom  # the theme's layout rendered
    shot = tmp_path / "page.png"
    subprocess.run([*common, "--window-size=1280,1000", f"--screenshot={shot}",
                    f"{served}/{page}"], capture_output=True, timeout=120, check=True)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (1000, 1280)
    assert pixels[..., :3].std() > 0.05  # text and colours, not one flat colour
