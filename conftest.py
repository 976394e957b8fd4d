import os

# Experiments created by tests must never land in the user's home.
os.environ.setdefault("NASCORE_TEST", "1")
