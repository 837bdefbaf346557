"""Docker Registry HTTP API v2 (the OCI distribution API): references, credentials, a client
that verifies every digest, and cosign's signatures."""
