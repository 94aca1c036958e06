"""Infrastructure definitions shared by the deployment template, the local runtime and the tests."""
