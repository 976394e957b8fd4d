"""Put this folder on sys.path so the tests can import ``strategy_kit`` (pytest runs with importlib mode)."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
