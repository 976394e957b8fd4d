import sys
from pathlib import Path

# cgo_helpers must be importable by module path, here and in trial workers (they inherit sys.path).
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

