"""The host's apt sources, read as configured and written again for a private apt.

The host's /etc/apt/sources.list and sources.list.d/*.list (one-line form)
and sources.list.d/*.sources (deb822 form) are read with their URIs, suites,
components and options (Signed-By, Trusted, Architectures, ...), and written
back as one deb822 file.  Only `deb` entries are kept (no source packages
are needed) and entries marked `Enabled: no` are left out.  Nothing is
added: the private apt fetches from exactly the archives the host uses.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field as dc_field
from pathlib import Path

from .control import StanzaError, format_field, parse_stanzas

# One-line option names (`deb [arch=arm64 signed-by=...] ...`) and their deb822 fields.
ONE_LINE_OPTIONS = {
    "arch": "Architectures", "arch+": "Architectures-Add", "arch-": "Architectures-Remove",
    "lang": "Languages", "lang+": "Languages-Add", "lang-": "Languages-Remove",
    "target": "Targets", "target+": "Targets-Add", "target-": "Targets-Remove",
    "pdiffs": "PDiffs", "by-hash": "By-Hash", "trusted": "Trusted", "signed-by": "Signed-By",
    "check-valid-until": "Check-Valid-Until", "valid-until-min": "Valid-Until-Min",
    "valid-until-max": "Valid-Until-Max", "check-date": "Check-Date",
    "date-max-future": "Date-Max-Future", "inrelease-path": "InRelease-Path",
    "allow-insecure": "Allow-Insecure", "allow-weak": "Allow-Weak",
    "allow-downgrade-to-insecure": "Allow-Downgrade-To-Insecure", "snapshot": "Snapshot",
}
# Options whose one-line value is a comma-separated list (deb822: space-separated).
_LIST_OPTIONS = {"Architectures", "Architectures-Add", "Architectures-Remove", "Languages",
                 "Languages-Add", "Languages-Remove", "Targets", "Targets-Add",
                 "Targets-Remove", "Signed-By"}
_CANONICAL = {name.lower(): name for name in ONE_LINE_OPTIONS.values()}
_CORE = {"types": "Types", "uris": "URIs", "suites": "Suites", "components": "Components",
         "enabled": "Enabled"}


class SourcesError(ValueError):
    """A sources file apt itself would refuse."""


@dataclass
class Source:
    """One apt source entry: every combination of its URIs and suites is a repository."""
    types: list[str]
    uris: list[str]
    suites: list[str]
    components: list[str]
    options: dict[str, str] = dc_field(default_factory=dict)   # deb822 field -> value
    origin: str = ""                                           # file:line, for messages

    def deb822(self) -> str:
        text = format_field("Types", " ".join(self.types))
        text += format_field("URIs", " ".join(self.uris))
        text += format_field("Suites", " ".join(self.suites))
        if self.components:
            text += format_field("Components", " ".join(self.components))
        for name, value in self.options.items():
            text += format_field(name, value)
        return text


def parse_one_line(text: str, origin: str = "sources.list") -> list[Source]:
    """Entries of a one-line-style file (`deb [options] URI SUITE [COMPONENT...]`)."""
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{origin}:{lineno}"
        kind, _, rest = line.partition(" ")
        if kind not in ("deb", "deb-src"):
            raise SourcesError(f"{where}: unknown type {kind!r}")
        rest = rest.strip()
        options: dict[str, str] = {}
        if rest.startswith("["):
            inside, sep, rest = rest[1:].partition("]")
            if not sep:
                raise SourcesError(f"{where}: '[' without ']'")
            for opt in inside.split():
                key, eq, value = opt.partition("=")
                if not eq:
                    raise SourcesError(f"{where}: option {opt!r} is not NAME=VALUE")
                name = ONE_LINE_OPTIONS.get(key.lower())
                if name is None:
                    raise SourcesError(f"{where}: unknown option {key!r}")
                options[name] = value.replace(",", " ") if name in _LIST_OPTIONS else value
        words = rest.split()
        if len(words) < 2:
            raise SourcesError(f"{where}: expected URI and suite")
        uri, suite, comps = words[0], words[1], words[2:]
        if suite.endswith("/") and comps:
            raise SourcesError(f"{where}: a suite ending in '/' takes no components")
        out.append(Source([kind], [uri], [suite], comps, options, where))
    return out


def parse_deb822(text: str, origin: str = "x.sources") -> list[Source]:
    """Entries of a deb822-style .sources file."""
    try:
        stanzas = parse_stanzas(text, comments=True)
    except StanzaError as e:
        raise SourcesError(f"{origin}: {e}") from None
    out = []
    for n, st in enumerate(stanzas, 1):
        where = f"{origin}: entry {n}"
        core: dict[str, str] = {}
        options: dict[str, str] = {}
        for key, value in st.items():
            low = key.lower()
            if low in _CORE:
                core[_CORE[low]] = value
            else:
                options[_CANONICAL.get(low, key)] = value
        if core.get("Enabled", "yes").strip().lower() in ("no", "false", "0"):
            continue
        missing = [k for k in ("Types", "URIs", "Suites") if not core.get(k, "").split()]
        if missing:
            raise SourcesError(f"{where}: no {', '.join(missing)}")
        suites = core["Suites"].split()
        comps = core.get("Components", "").split()
        if any(s.endswith("/") for s in suites) and comps:
            raise SourcesError(f"{where}: a suite ending in '/' takes no components")
        out.append(Source(core["Types"].split(), core["URIs"].split(), suites, comps,
                          options, where))
    return out


def binary_only(sources: list[Source]) -> list[Source]:
    """The `deb` entries (`deb-src` types dropped)."""
    out = []
    for s in sources:
        if "deb" in s.types:
            out.append(Source(["deb"], s.uris, s.suites, s.components, s.options, s.origin))
    return out


def render(sources: list[Source]) -> str:
    """One deb822 sources file holding SOURCES."""
    head = "# The host's apt sources (deb entries), copied by mkemu rootfs build.\n\n"
    return head + "\n".join(s.deb822() for s in sources)


def host_source_files() -> tuple[Path, Path]:
    """(sources.list, sources.list.d) as the host's apt is configured."""
    files = {"Dir::Etc::SourceList": "/etc/apt/sources.list",
             "Dir::Etc::SourceParts": "/etc/apt/sources.list.d"}
    try:
        r = subprocess.run(["apt-config", "shell", "L", "Dir::Etc::SourceList/f",
                            "P", "Dir::Etc::SourceParts/d"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        for line in r.stdout.splitlines():
            name, _, value = line.partition("=")
            value = value.strip().strip("'")
            if name == "L" and value:
                files["Dir::Etc::SourceList"] = value
            elif name == "P" and value:
                files["Dir::Etc::SourceParts"] = value
    except (OSError, subprocess.TimeoutExpired):
        pass
    return Path(files["Dir::Etc::SourceList"]), Path(files["Dir::Etc::SourceParts"])


def read_host_sources(sources_list: Path | None = None, parts: Path | None = None) -> list[Source]:
    """Every entry the host's apt reads, in apt's order (the main file, then the
    parts directory sorted by name); `deb-src` entries included."""
    if sources_list is None or parts is None:
        default_list, default_parts = host_source_files()
        sources_list = sources_list or default_list
        parts = parts or default_parts
    found: list[Source] = []
    if sources_list.is_file():
        found += parse_one_line(sources_list.read_text(errors="replace"), str(sources_list))
    if parts.is_dir():
        for f in sorted(parts.iterdir()):
            if not f.is_file():
                continue
            if f.name.endswith(".list"):
                found += parse_one_line(f.read_text(errors="replace"), str(f))
            elif f.name.endswith(".sources"):
                found += parse_deb822(f.read_text(errors="replace"), str(f))
    return found
