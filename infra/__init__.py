"""Infrastructure: the table definitions shared by the deployment template, the local runtime and the tests
(`tables.py`, the only module the Lambda bundle carries: vendor/infra links just it), the CloudFormation merged
into `chalice package` (`template.py`), and the local runtime (`local/`, `lapor serve`) with the operators'
command line (`cli.py`), which never ship to AWS."""
