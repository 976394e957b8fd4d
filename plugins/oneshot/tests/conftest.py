import pathlib
import sys

# the shared XOR space and data (oneshot_xor.py) are imported by name from the test modules
sys.path.insert(0, str(pathlib.Path(__file__).parent))
