from tests.factors.conftest import verified_factor  # noqa: F401  (shared fixture)
