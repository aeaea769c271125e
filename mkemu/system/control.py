"""deb822 stanzas, and the dpkg database entries of an unpacked package.

A stanza is a dict from field name to value in file order.  A value keeps its
continuation lines as written ("short\\n long line\\n ."), so writing it back
gives the same text.  The dpkg side follows what dpkg itself writes:

* /var/lib/dpkg/status: the package's control fields in dpkg's own field
  order (lib/dpkg/parse.c `fieldinfos`), unknown fields after them, a Status
  line and the Conffiles with their hashes;
* /var/lib/dpkg/info/NAME.*: NAME is `pkg:arch` for a `Multi-Arch: same`
  package and `pkg` otherwise (dpkg's `pnaw_same`); the file list has one
  absolute path a line, "/." for the archive's top;
* /var/lib/dpkg/triggers: File (file-trigger interests, "PATH PKG[/noawait]")
  and one file per explicit trigger name listing the interested packages.
"""
from __future__ import annotations

from collections.abc import Iterable

# dpkg's order of the fields it knows when it writes the status file.
STATUS_FIELD_ORDER = (
    "Package", "Essential", "Protected", "Status", "Priority", "Section", "Installed-Size",
    "Origin", "Maintainer", "Bugs", "Architecture", "Multi-Arch", "Source", "Version",
    "Config-Version", "Replaces", "Provides", "Depends", "Pre-Depends", "Recommends",
    "Suggests", "Breaks", "Conflicts", "Enhances", "Conffiles", "Description",
    "Triggers-Pending", "Triggers-Awaited",
)
# Booleans dpkg writes only when true.
_ONLY_IF_YES = ("Essential", "Protected")
NEW_CONFFILE = "newconffile"        # dpkg's hash of a conffile it has not installed yet


class StanzaError(ValueError):
    """A deb822 file that cannot be parsed."""


def parse_stanzas(text: str, comments: bool = False) -> list[dict[str, str]]:
    """The paragraphs of a deb822 text.  COMMENTS: lines starting with '#' are
    skipped (sources files allow them; control and status files do not)."""
    stanzas: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if comments and line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, last = {}, None
            continue
        if line[0] in " \t":
            if last is None:
                raise StanzaError(f"line {lineno}: a continuation line with no field before it")
            cur[last] += "\n" + line
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise StanzaError(f"line {lineno}: not a 'Field: value' line: {line[:60]!r}")
        last = name.strip()
        cur[last] = value.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


def field(stanza: dict[str, str], name: str, default: str = "") -> str:
    """A field by name, case-insensitively (as dpkg and apt read them)."""
    if name in stanza:
        return stanza[name]
    low = name.lower()
    return next((v for k, v in stanza.items() if k.lower() == low), default)


def format_field(name: str, value: str) -> str:
    if value.startswith("\n") or not value:
        return f"{name}:{value}\n"
    return f"{name}: {value}\n"


def format_stanza(stanza: dict[str, str]) -> str:
    return "".join(format_field(k, v) for k, v in stanza.items())


def info_name(control: dict[str, str]) -> str:
    """The name of a package's files in /var/lib/dpkg/info (and in the trigger files)."""
    pkg = control["Package"]
    if field(control, "Multi-Arch") == "same":
        return f"{pkg}:{control['Architecture']}"
    return pkg


def status_stanza(control: dict[str, str], status: str = "install ok unpacked",
                  conffiles: Iterable[tuple[str, str]] = ()) -> str:
    """The package's /var/lib/dpkg/status entry, as dpkg writes it.

    CONFFILES: (path, hash) pairs; the hash is the md5 of the file as installed,
    or NEW_CONFFILE.
    """
    fields = dict(control)
    fields["Status"] = status
    for name in _ONLY_IF_YES:
        if field(fields, name) != "yes":
            fields.pop(name, None)
    conff = list(conffiles)
    if conff:
        fields["Conffiles"] = "".join(f"\n {path} {digest}" for path, digest in conff)
    known = [(k, fields[k]) for k in STATUS_FIELD_ORDER if k in fields]
    rest = [(k, v) for k, v in fields.items() if k not in STATUS_FIELD_ORDER]
    return "".join(format_field(k, v) for k, v in known + rest)


def conffile_paths(conffiles_text: str) -> list[str]:
    """The paths a control archive's `conffiles` member names (flags such as
    `remove-on-upgrade` in front of a path are dropped: the file is not shipped)."""
    paths = []
    for line in conffiles_text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) > 1:          # "FLAG /path": dpkg >= 1.20.1 flags a conffile to remove
            continue
        paths.append(words[0])
    return paths


def list_file(paths: Iterable[str]) -> str:
    """dpkg's info/NAME.list: the archive's members as absolute paths ("./" is "/.")."""
    out = []
    for p in paths:
        p = p.removeprefix(".").rstrip("/") if p not in ("./", ".") else "/."
        out.append(p if p.startswith("/") else "/" + p)
    return "".join(f"{p}\n" for p in out)


def trigger_interests(name: str, triggers_text: str) -> tuple[list[str], dict[str, list[str]]]:
    """From a control archive's `triggers` member: the lines this package adds to
    triggers/File and, per explicit trigger name, to triggers/NAME.

    Activations (activate*) are not interests: they matter only when a package
    is unpacked over an installed one, which a fresh tree never has.
    """
    file_lines: list[str] = []
    explicit: dict[str, list[str]] = {}
    for line in triggers_text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) != 2 or not words[0].startswith("interest"):
            continue
        kind, trig = words
        who = name + ("/noawait" if kind == "interest-noawait" else "")
        if trig.startswith("/"):
            file_lines.append(f"{trig} {who}")
        else:
            explicit.setdefault(trig, []).append(who)
    return file_lines, explicit


def packages_not_installed(status_text: str) -> dict[str, str]:
    """package -> its status word, for every package whose Status is not
    `install ok installed` (what `dpkg --audit` would complain about)."""
    out = {}
    for st in parse_stanzas(status_text):
        words = field(st, "Status").split()
        if len(words) == 3 and words[2] != "installed" and words[2] != "not-installed":
            out[st.get("Package", "?")] = words[2]
        elif len(words) == 3 and words[1] != "ok":
            out[st.get("Package", "?")] = " ".join(words[1:])
    return out
