"""Features built on the pipeline: diff, review, coverage, test plans, HIPAA, the library lint."""
