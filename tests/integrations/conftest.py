# The delivery tests' tenant with a real headshot, shared with the label tests (a conftest, so the tests that use
# them take them as fixtures instead of importing a name their parameters would shadow).
from tests.integrations.test_delivery import headshot, tenant  # noqa: F401 (fixtures)
