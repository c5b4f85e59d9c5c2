"""Sealing secrets: the keys (keys), sealing and unsealing values with them (crypto) and
masking plain values out of text (masking). A leaf below the engine and the bricks, which
use it too: it imports nothing of nebhx but the settings. The secrets domain keeps the
stored secrets (nebhx.secrets)."""
