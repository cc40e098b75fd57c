"""Assertions several test modules share."""

from __future__ import annotations

from typing import Any

import pytest

from pinmap.services.errors import ServiceError


def refused(status: int, fn: Any, *args: Any, **kw: Any) -> ServiceError:
    """The refusal `fn(*args, **kw)` raises, asserted to carry `status`."""
    with pytest.raises(ServiceError) as err:
        fn(*args, **kw)
    assert err.value.status == status, (err.value.status, str(err.value))
    return err.value
