"""The trial code directory on its way to the cluster: the remote service's rules (excludes, ``.gitignore``, size
limit with the largest files named), staged as exactly those files and shipped as the runtime_env working_dir."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict

from nascore_ray.config import RayConfig
from nascore_remote.upload import CodeTree, collect_code

__all__ = ["stage_code", "runtime_env"]


def stage_code(settings: RayConfig) -> CodeTree:
    """Collect the code tree (raises ``CodeTooLargeError`` naming the largest files) and copy exactly its files to a
    staging directory named by its content hash, so Ray packs what the remote service would upload -- no more."""
    tree = collect_code(settings.trial_code_directory or os.getcwd(), settings.code_excludes,
                        settings.code_size_limit_mb)
    staged = Path(tempfile.gettempdir()) / "nascore-ray-code" / tree.digest
    if not (staged / ".complete").exists():
        staged.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f"{tree.digest}-", dir=staged.parent))
        for rel in tree.files:
            target = partial / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tree.root / rel, target)
        (partial / ".complete").touch()
        try:
            partial.rename(staged)
        except OSError:  # another experiment staged the same tree meanwhile
            shutil.rmtree(partial, ignore_errors=True)
    return CodeTree(staged, tree.files, tree.digest, tree.size)


def runtime_env(settings: RayConfig, code: CodeTree, env_vars: Dict[str, str]) -> Dict[str, Any]:
    """The actors' runtime_env: the user's additions, our env vars merged into theirs, the code as working_dir."""
    env = dict(settings.runtime_env)
    env["env_vars"] = {**env_vars, **settings.runtime_env.get("env_vars", {})}
    if code.files:  # nothing to ship: no working_dir (Ray would still pack and unpack an empty one per job)
        env["working_dir"] = str(code.root)
    return env
