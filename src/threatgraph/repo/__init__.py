"""The repository around a model: git (files at a revision), evidence that controls cite,
and the code that elements map to. The pipeline checks evidence and code maps before
matching; diff and review read git revisions."""
