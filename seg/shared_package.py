"""Every command of seg/ imports this first: seg/ needs the shared package `hrformer_common`,
installed from the HRFormer repository's `common/` (`make install` does it), and without it
a command stops with this one line instead of an ImportError."""
try:
    import hrformer_common  # noqa: F401
except ImportError:
    raise SystemExit("seg needs the package hrformer_common: pip install <HRFormer repository>/common"
                     " (make install does it at the repository root)") from None
