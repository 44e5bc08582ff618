"""QR encoding of asset tags: the module matrix that the label sheet draws."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_H
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, MODE_NUMBER, QRData

# Characters that fit in each QR version (1, 2, 3, ...) at error-correction level H, by encoding mode
# (ISO/IEC 18004 table 7). Level H restores up to 30% of the code, so a scuffed label still scans.
_CAPACITY_H = {
    MODE_NUMBER: (17, 34, 58, 82),
    MODE_ALPHA_NUM: (10, 20, 35, 50),
    MODE_8BIT_BYTE: (7, 14, 24, 34),
}
# Any mask gives a valid code; fixing one skips qrcode's search, which builds the code eight times.
_MASK_PATTERN = 0


class QrTextError(ValueError):
    """The text cannot be put in a label's QR code."""


def qr_matrix(text: str) -> list[list[bool]]:
    """The dark (True) and light modules of the QR code for `text`, row by row, without a quiet zone."""
    if not text.strip():
        raise QrTextError("A QR label needs an asset tag; this one is empty.")
    data = QRData(text)
    versions = enumerate(_CAPACITY_H[data.mode], start=1)
    version = next((number for number, capacity in versions if len(data) <= capacity), None)
    if version is None:
        raise QrTextError(
            f"The asset tag '{text}' is too long for a label's QR code: use at most "
            f"{_CAPACITY_H[MODE_ALPHA_NUM][-1]} capital letters, digits and -, "
            f"or {_CAPACITY_H[MODE_8BIT_BYTE][-1]} other characters."
        )
    code = qrcode.QRCode(
        version=version, error_correction=ERROR_CORRECT_H, mask_pattern=_MASK_PATTERN, border=0
    )
    code.add_data(data)
    code.make(fit=False)
    return [[bool(module) for module in row] for row in code.modules]
