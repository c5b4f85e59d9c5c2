# The API-side attack tests' fixtures live in apikit.py (shared by several helpers' files).
from apikit import app_env, open_api, pg_env, secured  # noqa: F401
