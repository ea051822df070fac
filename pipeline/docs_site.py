"""`make docs`: one static documentation site that renders with no network.

It holds dbt's docs (the rules catalogue of `dbt_project/docs/`, every model, its columns, tests and lineage; dbt's
`--static` page carries its own scripts) and Great Expectations' Data Docs of the last runs. Data Docs load their
scripts and styles from public CDNs; the site serves them itself instead: each is taken from its npm package (pinned
version, tarball checked against the registry's sha512 integrity, cached under `$DW_HOME/cache/npm`) and every page's
CDN address is rewritten to the local copy.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import tomllib
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from pipeline.settings import Settings, load_settings

REGISTRY = "https://registry.npmjs.org"


ASSETS_FILE = Path(__file__).with_name("docs_assets.toml")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity of the tarball
    serves: dict[str, str]  # CDN address -> the file of this package that replaces it
    keep: tuple[str, ...] = ()  # folders a served file needs beside it (a stylesheet's fonts, say)

    @property
    def folder(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


def load_packages(path: Path = ASSETS_FILE) -> list[Package]:
    return [
        Package(p["name"], p["version"], p["integrity"], dict(p["serves"]), tuple(p.get("keep", ())))
        for p in tomllib.loads(path.read_text(encoding="utf-8"))["package"]
    ]


GX_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[^\"']*/(logo-long\.png|full_logo_dark\.png)[^\"']*")
# what a page loads (scripts, images, stylesheets), as opposed to links a person may follow
LOADED_FROM_NETWORK = re.compile(
    r"""<(?:script|img)[^>]*\ssrc=["'](https?://[^"']+)|<link[^>]*\shref=["'](https?://[^"']+)"""
)

INDEX = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Dealer-group warehouse: documentation</title>
<style>body{{font-family:sans-serif;max-width:46rem;margin:3rem auto;line-height:1.5}}a{{font-size:1.2rem}}</style>
</head><body>
<h1>Dealer-group insurance warehouse</h1>
<p>Built for the as-of date {as_of}.</p>
<ul>
<li><a href="dbt/index.html">dbt docs</a>: the rules catalogue (docs blocks <code>rule_*</code> and
<code>source_*</code>), every model with its columns, tests, contract and lineage.</li>
<li><a href="data_docs/index.html">Great Expectations Data Docs</a>: the suites and the results of the runs.</li>
</ul>
</body></html>
"""


class DocsSiteError(RuntimeError):
    """The site cannot be built; the message says why."""


def fetch_package(package: Package, cache: Path) -> bytes:
    """The package's tarball, from the cache or the registry, always checked against its pinned integrity."""
    cached = cache / f"{package.folder.replace('/', '__')}.tgz"
    if cached.exists():
        data = cached.read_bytes()
    else:
        try:
            with urllib.request.urlopen(package.tarball, timeout=60) as response:
                data = response.read()
        except OSError as exc:
            raise DocsSiteError(f"cannot download {package.tarball} for the offline Data Docs: {exc}") from exc
    algorithm, _, expected = package.integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        cached.unlink(missing_ok=True)
        raise DocsSiteError(f"{package.tarball} does not match its pinned integrity {package.integrity}")
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def vendor(packages: list[Package], target: Path, cache: Path) -> None:
    """Unpack the files the pages load (and the folders they need) into target/<name>@<version>/."""
    for package in packages:
        with tarfile.open(fileobj=io.BytesIO(fetch_package(package, cache)), mode="r:gz") as archive:
            for member in archive.getmembers():
                inside = PurePosixPath(member.name).relative_to("package")
                wanted = str(inside) in package.serves.values() or any(inside.is_relative_to(k) for k in package.keep)
                if member.isfile() and wanted:
                    destination = target / package.folder / inside
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.extractfile(member).read())


def localise(page: Path, packages: list[Package], vendor_dir: Path, logo: Path) -> list[str]:
    """Rewrite a Data Docs page's CDN addresses to the site's own copies; return any asset address left."""
    text = page.read_text(encoding="utf-8")

    def relative(path: Path) -> str:
        return os.path.relpath(path, page.parent).replace(os.sep, "/")

    for package in packages:
        for address, inside in package.serves.items():
            text = text.replace(f'"{address}"', f'"{relative(vendor_dir / package.folder / inside)}"')
    text = GX_LOGO.sub(relative(logo), text)
    page.write_text(text, encoding="utf-8")
    return [script or stylesheet for script, stylesheet in LOADED_FROM_NETWORK.findall(text)]


def build(as_of: date, settings: Settings | None = None) -> Path:
    """Write the site to $DW_HOME/docs_site and return its index page."""
    from pipeline.steps import run_dbt

    settings = settings or load_settings()
    data_docs = settings.home / "data_docs"
    if not (data_docs / "index.html").exists():
        raise DocsSiteError(f"no Data Docs in {data_docs} yet: run the pipeline once (make run), then make docs")
    site = settings.home / "docs_site"
    shutil.rmtree(site, ignore_errors=True)
    run_dbt(["docs", "generate", "--static"], as_of, settings)
    (site / "dbt").mkdir(parents=True)
    shutil.copyfile(settings.home / "dbt" / "target" / "static_index.html", site / "dbt" / "index.html")

    shutil.copytree(data_docs, site / "data_docs")
    vendor_dir = site / "vendor"
    packages = load_packages()
    vendor(packages, vendor_dir, settings.home / "cache" / "npm")
    logo = site / "data_docs" / "static" / "images" / "logo-long.png"
    left = {a for page in (site / "data_docs").rglob("*.html") for a in localise(page, packages, vendor_dir, logo)}
    if left:
        raise DocsSiteError(f"Data Docs load assets this site does not serve: {sorted(left)}")
    index = site / "index.html"
    index.write_text(INDEX.format(as_of=as_of.isoformat()), encoding="utf-8")
    return index


def main() -> int:
    settings = load_settings()
    as_of = settings.as_of or date.today()
    try:
        index = build(as_of, settings)
    except DocsSiteError as exc:
        print(f"make docs: {exc}", file=sys.stderr)
        return 1
    print(f"Documentation site (renders offline): {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
