"""The one-shot modes run while a machine is prepared: ``check`` (can this Python run trials?) and
``unpack`` (install an uploaded code archive)."""
import json
import os
import shutil
import sys
import tarfile


def check(plugins):
    """Print a JSON report: this Python, whether it imports nascore, which of ``plugins`` it lacks."""
    report = {"python": sys.executable, "version": sys.version.split()[0], "missing": []}
    try:
        import nascore  # noqa: F401
        import nascore.training_service  # noqa: F401
        report["nascore"] = getattr(nascore, "__version__", "?")
    except Exception as exc:  # noqa: BLE001 - reported to the user as is
        report["nascore"] = None
        report["error"] = "%s: %s" % (type(exc).__name__, exc)
        print(json.dumps(report))
        return 0
    from importlib.metadata import entry_points
    names = {ep.name for ep in entry_points(group="nascore")}
    report["missing"] = [p for p in plugins if p not in names]
    print(json.dumps(report))
    return 0


def unpack(archive, dest):
    """Unpack ``archive`` into ``dest`` atomically (a concurrent unpack of the same tree is fine)."""
    if os.path.isdir(dest):
        return 0
    tmp = "%s.tmp-%d" % (dest, os.getpid())
    os.makedirs(tmp, mode=0o700)  # an empty code folder's archive creates nothing: the folder must still exist
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(tmp, filter="data")
        except TypeError:  # Python < 3.10.12 has no extraction filters
            tar.extractall(tmp)
    for folder, dirs, files in os.walk(tmp):  # the archive's modes may say world-readable: the user's alone
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o700)
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode & 0o700)
    os.chmod(tmp, 0o700)
    try:
        os.rename(tmp, dest)
    except OSError:  # another experiment unpacked the same tree meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    os.unlink(archive)
    return 0
