"""The trial code tree: which files go (``.gitignore``-style excludes, a size limit), its content hash, and
the archive uploaded once per experiment to ``~/.nascore/code/<hash>`` (skipped when already there)."""
from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple

__all__ = ["CodeTree", "IgnoreRules", "collect_code", "CodeTooLargeError"]


class CodeTooLargeError(ValueError):
    """The trial code directory is over the size limit."""


class IgnoreRules:
    """A small ``.gitignore`` dialect: ``*``/``?`` globs, ``dir/`` for directories only, a leading ``/`` or an
    inner ``/`` anchors to the root, ``**/`` any depth, ``!pattern`` re-includes, ``#`` comments."""

    def __init__(self, patterns: Iterable[str]):
        self.rules: List[Tuple[str, bool, bool, bool]] = []  # (glob, negated, dir_only, anchored)
        for raw in patterns:
            line = raw.rstrip("\n").rstrip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line[1:] if negated else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            self.rules.append((line.lstrip("/"), negated, dir_only, anchored))

    def ignored(self, relpath: str, is_dir: bool) -> bool:
        result = False
        name = relpath.rsplit("/", 1)[-1]
        for glob, negated, dir_only, anchored in self.rules:
            if dir_only and not is_dir:
                continue
            if anchored:
                hit = fnmatch.fnmatchcase(relpath, glob) or (
                    glob.startswith("**/") and fnmatch.fnmatchcase(name, glob[3:]))
            else:
                hit = fnmatch.fnmatchcase(name, glob)
            if hit:
                result = not negated
        return result


@dataclass(frozen=True)
class CodeTree:
    root: Path
    files: Tuple[str, ...]  # relative POSIX paths, sorted
    digest: str
    size: int

    def archive(self) -> bytes:
        """A gzip'ed tar of the files (fixed mtimes, so the bytes depend on contents only)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for rel in self.files:
                info = tar.gettarinfo(str(self.root / rel), arcname=rel)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(self.root / rel, "rb") as f:
                    tar.addfile(info, f)
        return buffer.getvalue()


def collect_code(root: os.PathLike, excludes: Sequence[str] = (), size_limit_mb: float = 50.0) -> CodeTree:
    """Walk ``root`` skipping ``excludes`` and the root's ``.gitignore``; hash paths and contents."""
    root = Path(root).expanduser().resolve()
    patterns = list(excludes)
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        patterns += gitignore.read_text(errors="replace").splitlines()
    rules = IgnoreRules(patterns)
    files: List[Tuple[str, int]] = []
    for directory, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not rules.ignored(rel_dir + d, True)
                             and not os.path.islink(os.path.join(directory, d)))
        for name in filenames:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not rules.ignored(rel_dir + name, False):
                files.append((rel_dir + name, os.path.getsize(path)))
    total = sum(size for _, size in files)
    limit = int(size_limit_mb * 1024 * 1024)
    if total > limit:
        biggest = ", ".join(f"{rel} ({size / 1e6:.1f} MB)" for rel, size in sorted(files, key=lambda f: -f[1])[:5])
        raise CodeTooLargeError(
            f"trial code directory {root} holds {total / 1e6:.1f} MB to upload, over code_size_limit_mb="
            f"{size_limit_mb}; largest: {biggest}. Exclude data and outputs (code_excludes or .gitignore), point "
            "trial_code_directory at the code only, or raise code_size_limit_mb")
    digest = hashlib.sha256()
    for rel, _ in sorted(files):
        digest.update(rel.encode() + b"\0")
        with open(root / rel, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return CodeTree(root, tuple(sorted(rel for rel, _ in files)), digest.hexdigest()[:20], total)
