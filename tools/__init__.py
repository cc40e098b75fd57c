"""Development tools (a fake upstream, throwaway databases): used by tests/ and bench/, never
installed with the product (pyproject's packages.find leaves this package out)."""
