"""Nearest existing paths: what a plan probably meant by a path that does not exist. Pure.

Plans name files at the wrong place (``zajel/daemon.py`` is really ``zajel/cli/daemon.py``; the
website agent's ``app/vite.config.ts`` is ``packages/website/vite.config.ts``, not the other
package's ``packages/web-client/vite.config.ts``), and fix plans write paths relative to a package
or with a wrong prefix. ``PathIndex`` answers both questions over a repository's paths:

- ``nearest(path)``: the existing file of the same name that shares the longest leading folder
  with ``path``, then the one at the shortest folder distance (ties: none, rather than a guess).
- ``resolve(path, package)``: the repository path a possibly-relative path means, by exact
  match, under the package, or by a unique suffix match of whole path components.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavedeck.plan.ownership import shared_leading

# Up to this many names are looked up by substring search; more take one pass over the paths.
FIND_MAX_NAMES = 32
# A suffix match must cover at least this many components, unless it is unique in the package.
MIN_SUFFIX_PARTS = 2


def _dirs(path: str) -> list[str]:
    return [p for p in path.split("/")[:-1] if p]


def rank(declared: str, candidate: str) -> tuple[int, int]:
    """Sort key (smaller is nearer): longest shared leading folder, then folder distance."""
    a, b = _dirs(declared), _dirs(candidate)
    shared = shared_leading(a, b)
    return (-shared, len(a) + len(b) - 2 * shared)


class PathIndex:
    """A repository's paths indexed by file name, built once (one pass) and queried per path."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths: frozenset[str] = paths if isinstance(paths, frozenset) else frozenset(paths)
        # name -> paths, only for the names asked about: one pass over 100k paths per batch of
        # names costs ~20 ms, indexing every name would cost ten times that.
        self._by_name: dict[str, list[str]] = {}
        self._folders: dict[str, bool] = {}
        self._joined: str | None = None

    def _text(self) -> str:
        # Every path on its own line, so that name and folder look-ups are C-speed searches.
        if self._joined is None:
            self._joined = "\n" + "\n".join(self.paths) + "\n"
        return self._joined

    def prepare(self, names: Iterable[str]) -> None:
        """Index the paths of these file names (later look-ups are free)."""
        wanted = {n for n in names if n and n not in self._by_name}
        if not wanted:
            return
        if len(wanted) > FIND_MAX_NAMES:
            # Many names: one pass over the paths beats a search per name.
            found: dict[str, list[str]] = {n: [] for n in wanted}
            for path in self.paths:
                hit = found.get(path[path.rfind("/") + 1 :])
                if hit is not None:
                    hit.append(path)
            self._by_name.update(found)
            return
        text = self._text()
        for name in wanted:
            hits = [name] if name in self.paths else []
            key = "/" + name + "\n"
            at = text.find(key)
            while at >= 0:
                start = text.rfind("\n", 0, at) + 1
                hits.append(text[start : at + len(key) - 1])
                at = text.find(key, at + 1)
            self._by_name[name] = hits

    def named(self, name: str) -> list[str]:
        """Every path whose file name is ``name``."""
        if name not in self._by_name:
            self.prepare((name,))
        return self._by_name[name]

    def has_folder(self, folder: str) -> bool:
        """Whether some path lies under ``folder`` (``a/b/`` or ``a/b``)."""
        key = folder.strip("/") + "/"
        hit = self._folders.get(key)
        if hit is None:
            hit = key == "/" or ("\n" + key) in self._text()
            self._folders[key] = hit
        return hit

    def exists(self, path: str) -> bool:
        if path.endswith("/"):
            return self.has_folder(path)
        return path in self.paths

    def nearest(self, path: str) -> str | None:
        """The existing file with ``path``'s name nearest to it, or None (none, or a tie)."""
        name = path.rstrip("/").rsplit("/", 1)[-1]
        candidates = [c for c in self.named(name) if c != path]
        if not candidates:
            return None
        ranked = sorted(candidates, key=lambda c: (rank(path, c), c))
        if len(ranked) > 1 and rank(path, ranked[0]) == rank(path, ranked[1]):
            return None
        return ranked[0]

    def suffix_matches(self, path: str) -> list[str]:
        """Existing paths ending with all of ``path``'s components (``a/b.py`` ~ ``x/a/b.py``)."""
        name = path.rsplit("/", 1)[-1]
        tail = "/" + path
        return sorted(c for c in self.named(name) if c == path or c.endswith(tail))

    def resolve(self, path: str, package: str = "") -> str | None:
        """The existing repository path that ``path`` (maybe package-relative) means, or None.

        Tried in order: ``path`` itself; ``package + path``; a unique match of ``path``'s
        components as a suffix (the one under ``package`` when several); then ``path`` with its
        leading folders dropped one by one (a wrong prefix), down to two components, or to the
        bare name when exactly one file of that name lies under ``package``. Folders (ending
        ``/``) are resolved the same way against folders.
        """
        if path.endswith("/"):
            return self._resolve_folder(path, package)
        if path in self.paths:
            return path
        if package and package + path in self.paths:
            return package + path
        parts = path.split("/")
        for start in range(len(parts)):
            suffix = "/".join(parts[start:])
            matches = self.suffix_matches(suffix)
            if len(parts) - start < MIN_SUFFIX_PARTS:
                matches = [m for m in matches if package and m.startswith(package)]
            chosen = self._choose(matches, package)
            if chosen is not None:
                return chosen
        return None

    def _choose(self, matches: list[str], package: str) -> str | None:
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1 and package:
            inside = [m for m in matches if m.startswith(package)]
            if len(inside) == 1:
                return inside[0]
        return None

    def _resolve_folder(self, folder: str, package: str) -> str | None:
        for candidate in (folder, package + folder if package else None):
            if candidate and self.has_folder(candidate):
                return candidate.rstrip("/") + "/"
        return None
