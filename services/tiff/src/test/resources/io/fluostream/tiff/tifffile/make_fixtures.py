# Test files written by another tool (tifffile, https://pypi.org/project/tifffile/) so the reader is
# checked against files FluoStream did not write. Regenerate with: python3 make_fixtures.py
# (Debian: apt-get install python3-tifffile). Sample value at (t, c, z, y, x):
#   10000*t + 1000*c + 100*z + 10*y + x  (+0.25 for float32; modulo 251 for uint8)
import numpy as np
import tifffile

T, C, Z, Y, X = 3, 2, 2, 5, 7


def values(dtype, z_planes=1):
    t, c, z, y, x = np.meshgrid(np.arange(T), np.arange(C), np.arange(z_planes), np.arange(Y), np.arange(X), indexing='ij')
    v = 10000 * t + 1000 * c + 100 * z + 10 * y + x
    if dtype == 'uint8':
        v = v % 251
    v = v.astype(dtype)
    if dtype == 'float32':
        v += np.float32(0.25)
    return v  # T, C, Z, Y, X


for dtype in ('uint8', 'uint16', 'float32'):
    for name, order in (('le', '<'), ('be', '>')):
        a = values(dtype)[:, :, 0]  # T, C, Y, X
        tifffile.imwrite(f'ome_tcyx_{dtype}_{name}.ome.tif', a, byteorder=order, photometric='minisblack',
                         metadata={'axes': 'TCYX', 'PhysicalSizeX': 0.25, 'PhysicalSizeY': 0.25,
                                   'TimeIncrement': 1.5,
                                   'Channel': {'Name': ['GFP', 'mCherry'], 'EmissionWavelength': [510.0, 610.0]}})
# T varies fastest: DimensionOrder XYTCZ
tifffile.imwrite('ome_ctyx_uint16_le.ome.tif', values('uint16')[:, :, 0].transpose(1, 0, 2, 3),
                 photometric='minisblack', metadata={'axes': 'CTYX'})
# Two Z planes per time point
tifffile.imwrite('ome_tzcyx_uint16_le.ome.tif', values('uint16', Z).transpose(0, 2, 1, 3, 4),
                 photometric='minisblack', metadata={'axes': 'TZCYX'})
# An ImageJ hyperstack, big-endian float32, as Fiji saves one
tifffile.imwrite('imagej_tcyx_float32_be.tif', values('float32')[:, :, 0][:, None], byteorder='>', imagej=True,
                 resolution=(4.0, 4.0), metadata={'axes': 'TZCYX', 'unit': 'um', 'finterval': 2.0})
# No metadata at all: 6 pages
tifffile.imwrite('plain_uint16_be.tif', values('uint16')[:, :, 0].reshape(T * C, Y, X), byteorder='>',
                 photometric='minisblack', metadata=None)
