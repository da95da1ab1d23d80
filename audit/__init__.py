"""platform-audit: compliance audits of financing platforms from their data exports."""

__version__ = "0.1.0"
