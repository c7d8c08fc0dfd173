"""What a build records: the lock, quality.json and report.html, the SBOM and provenance, metrics."""
