"""Imported first by every cls command: one line instead of an ImportError without the package."""
try:
    import hrformer_common  # noqa: F401  (installed from the repository's common/: make install)
except ImportError:
    raise SystemExit("cls needs hrformer_common: pip install <HRFormer repository>/common") from None
