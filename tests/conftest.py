def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slurm: needs a real local Slurm cluster (skips without one)"
    )
