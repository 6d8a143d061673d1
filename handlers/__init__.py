"""The Lambda functions, one module each: `handler` is the entry point `template.yaml` names."""
