"""PSFEx model files for the tests, written in PSFEx's layout."""

from __future__ import annotations

from astropy.io import fits


def write_psfex(path, basis, degree, sampling, zero=(1024.5, 2048.5), scale=(2048.0, 4096.0)):
    """A PSFEx model file as PSFEx writes it: PSF_MASK in a PSF_DATA table, the
    polynomial's keywords in its header."""
    ncoeff, ny, nx = basis.shape
    column = fits.Column(name="PSF_MASK", format=f"{basis.size}D", dim=f"({nx}, {ny}, {ncoeff})", array=basis[None])
    table = fits.BinTableHDU.from_columns([column], name="PSF_DATA")
    table.header.update(POLNAXIS=2, POLGRP1=1, POLNAME1="X_IMAGE", POLZERO1=zero[0], POLSCAL1=scale[0], POLGRP2=1,
                        POLNAME2="Y_IMAGE", POLZERO2=zero[1], POLSCAL2=scale[1], POLNGRP=1, POLDEG1=degree,
                        PSF_SAMP=sampling, PSFNAXIS=3, PSFAXIS1=nx, PSFAXIS2=ny, PSFAXIS3=ncoeff)
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
