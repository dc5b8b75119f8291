"""The version of seqnn, in one place that imports nothing (``seqnn.__version__``)."""

__version__ = "0.1.0"
