"""Features built on the pipeline: diff, review, coverage, test plans, HIPAA, code links."""
