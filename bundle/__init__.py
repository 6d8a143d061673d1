"""The Lambda bundle: what a function's deployment package holds, and how it is made lean."""
