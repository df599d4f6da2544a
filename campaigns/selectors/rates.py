"""What every results row of the campaigns screens shares: the redemption rate."""

from __future__ import annotations


class RedemptionRate:
    """``rate``: the share of the issued coupons that were redeemed, in percent (0 when none
    was issued). For the results rows, which declare ``issued`` and ``redeemed``."""

    issued: int
    redeemed: int

    @property
    def rate(self) -> float:
        return 100 * self.redeemed / self.issued if self.issued else 0.0
