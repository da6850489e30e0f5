"""Study orchestration: typed layered parameters, grid expansion, cached stage DAG, executors,
provenance, status and compute estimates. Importing this package imports nothing heavy."""
