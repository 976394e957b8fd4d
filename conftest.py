import os
import tempfile

# Experiments created by tests (and by example scripts they run) never land in the user's home.
os.environ.setdefault("NASCORE_EXPERIMENT_DIR", tempfile.mkdtemp(prefix="nascore-test-experiments-"))
